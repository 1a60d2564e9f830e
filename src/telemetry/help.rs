//! The help text of every metric without a unit, registered once by
//! [`super::Telemetry::new`]: (name, help, whether a counter).

use super::LAG_METRIC;

/// (name, help, counter: true; gauge: false).
pub(super) const HELP: &[(&str, &str, bool)] = &[
    ("satpam_events_total", "Events received, by source.", true),
    (
        "satpam_decode_failures_total",
        "Messages that did not decode as MessageEvent.",
        true,
    ),
    (
        "satpam_validation_failures_total",
        "Events that failed validation.",
        true,
    ),
    (
        "satpam_dead_letters_total",
        "Messages sent to the dead-letter path.",
        true,
    ),
    (
        "satpam_duplicate_events_total",
        "Events ignored as duplicates.",
        true,
    ),
    (
        "satpam_late_events_total",
        "Events older than the 1-hour window.",
        true,
    ),
    (
        "satpam_event_time_refused_total",
        "Events refused for their time (outside limits.max_future_ms / max_past_ms), dead-lettered.",
        true,
    ),
    ("satpam_signals_total", "Signals emitted, by action.", true),
    (
        "satpam_signal_delivery_failures_total",
        "Signals or dead letters the broker did not acknowledge.",
        true,
    ),
    (
        "satpam_rule_reloads_total",
        "Rule reloads, by result.",
        true,
    ),
    (
        "satpam_rules_loaded_timestamp_seconds",
        "When the rules in force were loaded.",
        false,
    ),
    ("satpam_accounts_tracked", "Accounts with state.", false),
    (
        "satpam_state_cap_evictions_total",
        "State entries evicted because their tenant reached limits.max_accounts_per_tenant, max_conversations_per_tenant or max_wabas_per_tenant.",
        true,
    ),
    (
        "satpam_conversations_tracked",
        "Conversations with state.",
        false,
    ),
    ("satpam_state_bytes", "Bytes of state, by kind.", false),
    (
        "satpam_shards",
        "State shards (input partitions) owned.",
        false,
    ),
    ("satpam_watch_streams", "Open Signals.Watch streams.", false),
    (
        "satpam_watch_lagged_total",
        "Watch streams cut off for falling behind.",
        true,
    ),
    (
        "satpam_ingest_batches_total",
        "gRPC Ingest batches acknowledged.",
        true,
    ),
    (
        "satpam_offset_commits_total",
        "Kafka offset commits, by result.",
        true,
    ),
    (
        "satpam_snapshots_total",
        "Partition state snapshots written.",
        true,
    ),
    (
        "satpam_snapshot_failures_total",
        "Partition state snapshots that could not be written (the offset stays uncommitted).",
        true,
    ),
    (
        "satpam_partitions_revoked_total",
        "Partitions of the events topic this instance gave up in rebalances (drained, checkpointed and committed first).",
        true,
    ),
    (
        "satpam_kafka_rebalances_total",
        "Consumer-group rebalance callbacks handled (assignments and revocations); the epoch in each record's satpam-writer header.",
        true,
    ),
    (
        "satpam_kafka_lost_partitions_total",
        "Partitions lost because the group session expired (a pause, a partition from the coordinator): dropped without a checkpoint or a commit.",
        true,
    ),
    (
        "satpam_kafka_fenced_writes_total",
        "Signals, dead letters, state checkpoints and offsets of lost partitions that were not written (the zombie fence).",
        true,
    ),
    (
        "satpam_process_pauses_total",
        "Times the process was found not to have run for over a second (SIGSTOP, a frozen VM): Kafka writes were held until the group membership was settled.",
        true,
    ),
    (
        "satpam_kafka_offset_gaps_total",
        "Forward jumps in a partition's offsets between two records (or from the offset a partition was assigned at): compaction or transaction markers, or records the broker skipped.",
        true,
    ),
    (
        "satpam_signals_fenced_total",
        "Signals not re-emitted after a restart (already on the topic).",
        true,
    ),
    (
        "satpam_policy_reloads_total",
        "Country policy reloads, by result.",
        true,
    ),
    (
        "satpam_policy_loaded_timestamp_seconds",
        "Unix time of the last successful country policy load.",
        false,
    ),
    (
        "satpam_charged_messages_total",
        "Non-template outbound messages of accounts with CHARGE in force: what Meta charges the AI Provider for.",
        true,
    ),
    (
        LAG_METRIC,
        "Messages behind the end of the events topic over the owned partitions (librdkafka statistics).",
        false,
    ),
    (
        "satpam_build_info",
        "Always 1; the labels name the build.",
        false,
    ),
    (
        "satpam_webhook_requests_total",
        "Webhook and send-API requests, by result.",
        true,
    ),
    (
        "satpam_webhook_statuses_total",
        "Message statuses received in webhooks, by status.",
        true,
    ),
    (
        "satpam_webhook_other_fields_total",
        "Webhook changes of fields without messages or statuses.",
        true,
    ),
    (
        "satpam_webhook_notices_total",
        "System messages and deletion echoes (not events).",
        true,
    ),
    (
        "satpam_webhook_portfolios_learned_total",
        "WABA to business portfolio pairs learned from account_update webhooks.",
        true,
    ),
    (
        "satpam_webhook_portfolio_table_full_total",
        "WABA to business portfolio pairs not kept: the receiver's table was full.",
        true,
    ),
    (
        "satpam_webhook_templates_learned_total",
        "Message template categories learned (or changed) from template webhooks.",
        true,
    ),
    (
        "satpam_webhook_template_table_full_total",
        "Message template categories not kept: the receiver's table was full.",
        true,
    ),
    (
        "satpam_webhook_send_refused_total",
        "Send-API request bodies that did not map to an event.",
        true,
    ),
];
