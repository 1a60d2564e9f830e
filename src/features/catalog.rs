//! The named features rules can read: a fixed catalog, plus four features per
//! pattern set that a rule set declares (`msg.<set>`, `account.<set>_share`,
//! `waba.<set>_share` and `portfolio.<set>_share`). Features named `waba.*`
//! (`portfolio.*`) are the account's windows summed over every number of the
//! event's WABA (business portfolio; see [`super::group`]); a rule that
//! reads one decides at that level.

/// The type of a feature, as rule conditions see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureKind {
    /// A number (f64).
    Number,
    /// A boolean (stored as 0.0 / 1.0).
    Bool,
}

/// One feature of the fixed catalog.
#[derive(Debug, Clone, Copy)]
pub struct FeatureDef {
    /// The dotted name used in conditions.
    pub name: &'static str,
    /// Its type.
    pub kind: FeatureKind,
    /// What it measures.
    pub doc: &'static str,
}

macro_rules! catalog {
    ($( $id:ident = $name:literal, $kind:ident, $doc:literal; )*) => {
        /// Slot indexes of the fixed features in a [`super::FeatureVector`].
        #[allow(missing_docs)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u16)]
        pub enum F { $( $id ),* }

        /// The fixed catalog, in slot order.
        pub const FIXED: &[FeatureDef] = &[
            $( FeatureDef { name: $name, kind: FeatureKind::$kind, doc: $doc } ),*
        ];
    };
}

catalog! {
    MsgInbound = "msg.inbound", Bool, "The message is from the user.";
    MsgOutbound = "msg.outbound", Bool, "The message is from the business.";
    MsgTextLen = "msg.text_len", Number, "Length of the message in characters (text or reported length).";
    MsgHasText = "msg.has_text", Bool, "The message text was present and scanned.";
    MsgTemplate = "msg.template", Bool, "The message is a template.";
    MsgInteractive = "msg.interactive", Bool, "The message is interactive (buttons, list).";
    MsgBot = "msg.bot", Bool, "An outbound message sent by a bot.";
    MsgHuman = "msg.human", Bool, "An outbound message sent by a human agent.";
    MsgStructured = "msg.structured", Bool, "The text has list, heading or code structure.";
    MsgTopics = "msg.topics", Number, "Distinct topics the message raised.";
    MsgReplyLatencyS = "msg.reply_latency_s", Number, "Seconds this outbound message took to answer the user (0 when it answers nothing).";
    ConvTurns = "conv.turns", Number, "Completed user -> business exchanges in the conversation.";
    ConvInbound = "conv.inbound", Number, "User messages in the conversation.";
    ConvOutbound = "conv.outbound", Number, "Business messages in the conversation.";
    ConvTopics = "conv.topics", Number, "Distinct topics the user raised in the conversation.";
    ConvAgeMin = "conv.age_min", Number, "Minutes since the conversation's first message.";
    ConvHandedOff = "conv.handed_off", Bool, "A human took the conversation over at some point.";
    AccInbound1h = "account.inbound_1h", Number, "User messages to the account, last hour.";
    AccOutbound1h = "account.outbound_1h", Number, "Business messages from the account, last hour.";
    AccInboundText1h = "account.inbound_text_1h", Number, "User text messages with a length, last hour (the denominator of length shares).";
    AccOutboundText1h = "account.outbound_text_1h", Number, "Free-form business messages with a length, last hour (the denominator of reply-length shares).";
    AccScannedIn1h = "account.scanned_inbound_1h", Number, "User text messages whose text was scanned, last hour (the denominator of inbound pattern shares).";
    AccScannedOut1h = "account.scanned_outbound_1h", Number, "Business free-form messages whose text was scanned, last hour (the denominator of outbound pattern and structure shares).";
    AccInboundPerMin = "account.inbound_per_min", Number, "User messages per minute, last minute.";
    AccOutboundPerMin = "account.outbound_per_min", Number, "Business messages per minute, last minute.";
    AccUsers1h = "account.users_1h", Number, "Approximate distinct users, last hour.";
    AccUsers24h = "account.users_24h", Number, "Approximate distinct users, last 24 hours (saturates near 1,400).";
    AccSessions24h = "account.sessions_24h", Number, "Conversation sessions started, last 24 hours (a session opens after 30 min of silence).";
    AccNewConversations24h = "account.new_conversations_24h", Number, "Conversations seen for the first time, last 24 hours.";
    AccReturningShare24h = "account.returning_share_24h", Number, "Share of sessions opened by a returning user, last 24 hours.";
    AccRepliesPerInbound = "account.replies_per_inbound", Number, "Answers per user message, last hour.";
    AccBotShare = "account.bot_share", Number, "Share of business messages sent by a bot, last hour.";
    AccHumanShare = "account.human_share", Number, "Share of business messages sent by a human agent, last hour.";
    AccReplyLatencyP50S = "account.reply_latency_p50_s", Number, "Median seconds to answer a user, last hour.";
    AccFastReplyShare = "account.fast_reply_share", Number, "Share of answers sent within 10 s, last hour.";
    AccOutLenP50 = "account.out_len_p50", Number, "Median length of free-form business messages, last hour.";
    AccOutLenP90 = "account.out_len_p90", Number, "90th percentile length of free-form business messages, last hour.";
    AccLongReplyShare = "account.long_reply_share", Number, "Share of free-form business messages of 400+ characters, last hour.";
    AccVeryLongReplyShare = "account.very_long_reply_share", Number, "Share of free-form business messages of 800+ characters, last hour.";
    AccInLenP50 = "account.in_len_p50", Number, "Median length of user text messages, last hour.";
    AccLongPromptShare = "account.long_prompt_share", Number, "Share of user text messages of 100+ characters, last hour.";
    AccStructuredShare = "account.structured_share", Number, "Share of scanned business texts with list, heading or code structure, last hour.";
    AccTemplateShare = "account.template_share", Number, "Share of business messages that are templates, last hour.";
    AccMarketingShare = "account.marketing_share", Number, "Share of templates that are marketing, last hour.";
    AccUtilityShare = "account.utility_share", Number, "Share of templates that are utility, last hour.";
    AccAuthShare = "account.auth_share", Number, "Share of templates that are authentication, last hour.";
    AccInteractiveShare = "account.interactive_share", Number, "Share of business messages that are interactive, last hour.";
    AccButtonReplyShare = "account.button_reply_share", Number, "Share of user messages that are button replies, last hour.";
    AccMediaShare = "account.media_share", Number, "Share of all messages that are media, last hour.";
    AccHandoffRate = "account.handoff_rate", Number, "Hand-offs to a human per session, last 24 hours.";
    AccHandoffs24h = "account.handoffs_24h", Number, "Hand-offs to a human, last 24 hours.";
    AccTurnsPerSession = "account.turns_per_session", Number, "User messages per session, last hour.";
    AccTopics1h = "account.topics_1h", Number, "Distinct topics raised by users, last hour.";
    AccTopicalShare = "account.topical_share", Number, "Share of scanned user texts that raised a topic, last hour.";
    AccTextShare = "account.text_share", Number, "Share of user text messages whose text was present, last hour.";
    AccAgeMin = "account.age_min", Number, "Minutes since the account's first event.";
    AccReplyCharsPerS = "account.reply_chars_per_s", Number, "Median free-form reply length over the median reply latency, last hour: the pace of the answers in characters per second (a person types under 10; a model writes a whole answer at 50 or more). 0 without replies; at most 1,000.";
    AccDelivered24h = "account.delivered_24h", Number, "Business messages reported delivered (Cloud API statuses), last 24 hours; 0 when the input carries no statuses.";
    AccDeliveredServiceShare24h = "account.delivered_service_share_24h", Number, "Share of delivered messages priced `service` (free-form answers inside the customer service window), last 24 hours.";
    AccDeliveredUtilityShare24h = "account.delivered_utility_share_24h", Number, "Share of delivered messages priced `utility`, last 24 hours.";
    AccDeliveredMarketingShare24h = "account.delivered_marketing_share_24h", Number, "Share of delivered messages priced `marketing`, last 24 hours.";
    AccDeliveredAuthShare24h = "account.delivered_authentication_share_24h", Number, "Share of delivered messages priced `authentication`, last 24 hours.";
    AccBillableShare24h = "account.billable_share_24h", Number, "Share of delivered messages Meta bills, last 24 hours.";
    AccFailedShare24h = "account.failed_share_24h", Number, "Share of reported deliveries that failed (failed over delivered + failed), last 24 hours.";
    AccReadShare24h = "account.read_share_24h", Number, "Share of delivered messages reported read, last 24 hours.";
    WabaNumbersActive1h = "waba.numbers_active_1h", Number, "Phone numbers of the event's WABA with an event in the last hour (saturates at 128; 0 without a WABA).";
    WabaNumbersActive24h = "waba.numbers_active_24h", Number, "Phone numbers of the event's WABA with an event in the last 24 hours (saturates at 128; 0 without a WABA).";
    WabaInbound1h = "waba.inbound_1h", Number, "User messages to every number of the WABA, last hour.";
    WabaOutbound1h = "waba.outbound_1h", Number, "Business messages from every number of the WABA, last hour.";
    WabaScannedIn1h = "waba.scanned_inbound_1h", Number, "User text messages of the WABA whose text was scanned, last hour (the denominator of the WABA's inbound pattern shares).";
    WabaScannedOut1h = "waba.scanned_outbound_1h", Number, "Business free-form messages of the WABA whose text was scanned, last hour.";
    WabaUsers1h = "waba.users_1h", Number, "Approximate distinct users over the WABA's numbers, last hour.";
    WabaUsers24h = "waba.users_24h", Number, "Approximate distinct users over the WABA's numbers, last 24 hours (saturates near 1,400).";
    WabaSessions24h = "waba.sessions_24h", Number, "Conversation sessions started on the WABA's numbers, last 24 hours.";
    WabaTopics1h = "waba.topics_1h", Number, "Distinct topics raised by the WABA's users, last hour.";
    WabaTopicalShare = "waba.topical_share", Number, "Share of the WABA's scanned user texts that raised a topic, last hour.";
    WabaTurnsPerSession = "waba.turns_per_session", Number, "User messages per session over the WABA, last hour.";
    WabaBotShare = "waba.bot_share", Number, "Share of the WABA's business messages sent by a bot, last hour.";
    WabaHandoffRate = "waba.handoff_rate", Number, "Hand-offs to a human per session over the WABA, last 24 hours.";
    WabaLongReplyShare = "waba.long_reply_share", Number, "Share of the WABA's free-form business messages of 400+ characters, last hour.";
    WabaReturningShare24h = "waba.returning_share_24h", Number, "Share of the WABA's sessions opened by a returning user, last 24 hours.";
    WabaTextShare = "waba.text_share", Number, "Share of the WABA's user text messages whose text was present, last hour.";
    WabaEventsPerNumber1h = "waba.events_per_number_1h", Number, "Events per number active in the last hour, over the WABA (low when traffic is spread thin).";
    WabaTemplateShare = "waba.template_share", Number, "Share of the WABA's business messages that are templates, last hour.";
    WabaMarketingShare = "waba.marketing_share", Number, "Share of the WABA's templates that are marketing, last hour.";
    WabaUtilityShare = "waba.utility_share", Number, "Share of the WABA's templates that are utility, last hour.";
    WabaAuthShare = "waba.auth_share", Number, "Share of the WABA's templates that are authentication, last hour.";
    PortfolioNumbersActive1h = "portfolio.numbers_active_1h", Number, "Phone numbers of the event's business portfolio with an event in the last hour (saturates at 128; 0 without a portfolio).";
    PortfolioNumbersActive24h = "portfolio.numbers_active_24h", Number, "Phone numbers of the event's business portfolio with an event in the last 24 hours (saturates at 128; 0 without a portfolio).";
    PortfolioInbound1h = "portfolio.inbound_1h", Number, "User messages to every number of the portfolio, last hour.";
    PortfolioOutbound1h = "portfolio.outbound_1h", Number, "Business messages from every number of the portfolio, last hour.";
    PortfolioScannedIn1h = "portfolio.scanned_inbound_1h", Number, "User text messages of the portfolio whose text was scanned, last hour (the denominator of the portfolio's inbound pattern shares).";
    PortfolioScannedOut1h = "portfolio.scanned_outbound_1h", Number, "Business free-form messages of the portfolio whose text was scanned, last hour.";
    PortfolioUsers1h = "portfolio.users_1h", Number, "Approximate distinct users over the portfolio's numbers, last hour.";
    PortfolioUsers24h = "portfolio.users_24h", Number, "Approximate distinct users over the portfolio's numbers, last 24 hours (saturates near 1,400).";
    PortfolioSessions24h = "portfolio.sessions_24h", Number, "Conversation sessions started on the portfolio's numbers, last 24 hours.";
    PortfolioTopics1h = "portfolio.topics_1h", Number, "Distinct topics raised by the portfolio's users, last hour.";
    PortfolioTopicalShare = "portfolio.topical_share", Number, "Share of the portfolio's scanned user texts that raised a topic, last hour.";
    PortfolioTurnsPerSession = "portfolio.turns_per_session", Number, "User messages per session over the portfolio, last hour.";
    PortfolioBotShare = "portfolio.bot_share", Number, "Share of the portfolio's business messages sent by a bot, last hour.";
    PortfolioHandoffRate = "portfolio.handoff_rate", Number, "Hand-offs to a human per session over the portfolio, last 24 hours.";
    PortfolioLongReplyShare = "portfolio.long_reply_share", Number, "Share of the portfolio's free-form business messages of 400+ characters, last hour.";
    PortfolioReturningShare24h = "portfolio.returning_share_24h", Number, "Share of the portfolio's sessions opened by a returning user, last 24 hours.";
    PortfolioTextShare = "portfolio.text_share", Number, "Share of the portfolio's user text messages whose text was present, last hour.";
    PortfolioEventsPerNumber1h = "portfolio.events_per_number_1h", Number, "Events per number active in the last hour, over the portfolio (low when traffic is spread thin).";
    PortfolioTemplateShare = "portfolio.template_share", Number, "Share of the portfolio's business messages that are templates, last hour.";
    PortfolioMarketingShare = "portfolio.marketing_share", Number, "Share of the portfolio's templates that are marketing, last hour.";
    PortfolioUtilityShare = "portfolio.utility_share", Number, "Share of the portfolio's templates that are utility, last hour.";
    PortfolioAuthShare = "portfolio.auth_share", Number, "Share of the portfolio's templates that are authentication, last hour.";
}

/// Slots reserved for pattern-set features after the fixed ones:
/// `msg.<set>`, `account.<set>_share`, `waba.<set>_share`,
/// `portfolio.<set>_share`.
pub const PATTERN_FEATURES_PER_SET: usize = 4;

/// Total slots of a feature vector.
pub const MAX_FEATURES: usize =
    FIXED.len() + PATTERN_FEATURES_PER_SET * crate::scan::MAX_PATTERN_SETS;

/// Slot of `msg.<set>` for pattern set `i`.
pub fn pattern_msg_slot(i: usize) -> usize {
    FIXED.len() + PATTERN_FEATURES_PER_SET * i
}

/// Slot of `account.<set>_share` for pattern set `i`.
pub fn pattern_share_slot(i: usize) -> usize {
    pattern_msg_slot(i) + 1
}

/// Slot of `waba.<set>_share` for pattern set `i`.
pub fn pattern_waba_share_slot(i: usize) -> usize {
    Group::Waba.pattern_share_slot(i)
}

/// The prefix of the features aggregated per WABA.
pub const WABA_PREFIX: &str = "waba.";

/// The prefix of the features aggregated per business portfolio.
pub const PORTFOLIO_PREFIX: &str = "portfolio.";

/// The first slot of the fixed `waba.*` features.
pub const FIRST_WABA_SLOT: usize = F::WabaNumbersActive1h as usize;

/// The first slot of the fixed `portfolio.*` features (they run to the end
/// of the fixed catalog, in the order of the `waba.*` ones).
pub const FIRST_PORTFOLIO_SLOT: usize = F::PortfolioNumbersActive1h as usize;

/// How many fixed features one aggregate level has.
pub const GROUP_FEATURES: usize = FIRST_PORTFOLIO_SLOT - FIRST_WABA_SLOT;

/// An aggregate of many numbers, above the number: its features are the
/// account windows summed over its numbers, in one block of the fixed
/// catalog per level (the same features in the same order) and one share
/// per pattern set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// Every number of one WhatsApp Business Account (`waba.*`).
    Waba,
    /// Every number of every WABA of one business portfolio (`portfolio.*`).
    Portfolio,
}

impl Group {
    /// Both levels, lower first.
    pub const ALL: [Group; 2] = [Group::Waba, Group::Portfolio];

    /// The first slot of the level's fixed block.
    pub fn first_slot(self) -> usize {
        match self {
            Group::Waba => FIRST_WABA_SLOT,
            Group::Portfolio => FIRST_PORTFOLIO_SLOT,
        }
    }

    /// The slot of the level's feature `f`, named by its `waba.*` twin.
    pub fn slot(self, f: F) -> usize {
        self.first_slot() + (f as usize - FIRST_WABA_SLOT)
    }

    /// The slot of the level's share of pattern set `i`.
    pub fn pattern_share_slot(self, i: usize) -> usize {
        pattern_msg_slot(i)
            + match self {
                Group::Waba => 2,
                Group::Portfolio => 3,
            }
    }

    /// The prefix of the level's features.
    pub fn prefix(self) -> &'static str {
        match self {
            Group::Waba => WABA_PREFIX,
            Group::Portfolio => PORTFOLIO_PREFIX,
        }
    }

    /// The level `slot` belongs to, if it is an aggregate feature.
    pub fn of_slot(slot: usize) -> Option<Group> {
        if (FIRST_WABA_SLOT..FIRST_PORTFOLIO_SLOT).contains(&slot) {
            return Some(Group::Waba);
        }
        if (FIRST_PORTFOLIO_SLOT..FIXED.len()).contains(&slot) {
            return Some(Group::Portfolio);
        }
        match slot.checked_sub(FIXED.len())? % PATTERN_FEATURES_PER_SET {
            2 => Some(Group::Waba),
            3 => Some(Group::Portfolio),
            _ => None,
        }
    }
}

/// Whether `slot` holds a feature aggregated per WABA.
pub fn is_waba_slot(slot: usize) -> bool {
    Group::of_slot(slot) == Some(Group::Waba)
}

/// The features of one rule set: the fixed catalog plus its pattern sets.
#[derive(Debug, Clone)]
pub struct Catalog {
    names: Vec<(String, FeatureKind, String)>,
}

impl Catalog {
    /// The catalog for a rule set with these pattern sets (in slot order).
    pub fn new<'a>(pattern_sets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut names: Vec<(String, FeatureKind, String)> = FIXED
            .iter()
            .map(|d| (d.name.to_string(), d.kind, d.doc.to_string()))
            .collect();
        for set in pattern_sets {
            names.push((
                format!("msg.{set}"),
                FeatureKind::Bool,
                format!("The message matched pattern set `{set}`."),
            ));
            names.push((
                format!("account.{set}_share"),
                FeatureKind::Number,
                format!(
                    "Share of scanned messages on the set's side that matched `{set}`, last hour."
                ),
            ));
            names.push((
                format!("waba.{set}_share"),
                FeatureKind::Number,
                format!(
                    "Share of the WABA's scanned messages on the set's side that matched `{set}`, last hour."
                ),
            ));
            names.push((
                format!("portfolio.{set}_share"),
                FeatureKind::Number,
                format!(
                    "Share of the portfolio's scanned messages on the set's side that matched `{set}`, last hour."
                ),
            ));
        }
        Catalog { names }
    }

    /// The slot and kind of a feature by name.
    pub fn lookup(&self, name: &str) -> Option<(u16, FeatureKind)> {
        self.names
            .iter()
            .position(|(n, _, _)| n == name)
            .and_then(|i| u16::try_from(i).ok().map(|slot| (slot, self.names[i].1)))
    }

    /// The name of a slot.
    pub fn name(&self, slot: u16) -> &str {
        self.names
            .get(usize::from(slot))
            .map(|(n, _, _)| n.as_str())
            .unwrap_or("?")
    }

    /// Every feature: name, kind, doc.
    pub fn iter(&self) -> impl Iterator<Item = (&str, FeatureKind, &str)> {
        self.names
            .iter()
            .map(|(n, k, d)| (n.as_str(), *k, d.as_str()))
    }

    /// How many slots are in use.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the catalog is empty (never, in practice).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_slots_match_enum_order_and_names_are_unique() {
        assert_eq!(FIXED[F::AccUsers24h as usize].name, "account.users_24h");
        let c = Catalog::new(["open_domain"]);
        let mut names: Vec<&str> = c.iter().map(|(n, _, _)| n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), c.len());
        assert_eq!(
            c.lookup("msg.open_domain").map(|x| x.0 as usize),
            Some(pattern_msg_slot(0))
        );
        assert_eq!(
            c.lookup("account.open_domain_share").map(|x| x.0 as usize),
            Some(pattern_share_slot(0))
        );
        assert!(c.lookup("account.nope").is_none());
        let waba = c.lookup("waba.open_domain_share").map(|x| x.0 as usize);
        assert_eq!(waba, Some(pattern_waba_share_slot(0)));
        let portfolio = c
            .lookup("portfolio.open_domain_share")
            .map(|x| x.0 as usize);
        assert_eq!(portfolio, Some(Group::Portfolio.pattern_share_slot(0)));
        for (slot, (name, _, _)) in c.iter().enumerate() {
            let want = if name.starts_with(WABA_PREFIX) {
                Some(Group::Waba)
            } else if name.starts_with(PORTFOLIO_PREFIX) {
                Some(Group::Portfolio)
            } else {
                None
            };
            assert_eq!(Group::of_slot(slot), want, "{name} at slot {slot}");
        }
    }

    /// The portfolio block is the WABA block feature by feature: the
    /// extraction writes both through [`Group::slot`].
    #[test]
    fn the_portfolio_block_mirrors_the_waba_block() {
        assert_eq!(FIRST_PORTFOLIO_SLOT + GROUP_FEATURES, FIXED.len());
        for k in 0..GROUP_FEATURES {
            let waba = FIXED[FIRST_WABA_SLOT + k].name;
            let portfolio = FIXED[FIRST_PORTFOLIO_SLOT + k].name;
            assert_eq!(
                waba.strip_prefix(WABA_PREFIX),
                portfolio.strip_prefix(PORTFOLIO_PREFIX),
                "slot {k} of the block"
            );
        }
    }
}
