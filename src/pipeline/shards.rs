//! State sharded by input: one engine shard per Kafka partition (accounts
//! are keyed to partitions), plus a fixed set of shards for gRPC events
//! (an account hashes to one). All shards share one [`EngineContext`], so a
//! rule swap reaches every shard at once. A revoked partition's shard is
//! removed whole, so it can later move with its partition.

use std::collections::BTreeMap;
use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use xxhash_rust::xxh3::xxh3_64;

use crate::decide::Account;
use crate::engine::EngineContext;
use crate::state::StoreStats;
use crate::Engine;

/// Which shard: a Kafka partition or a gRPC hash shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ShardId {
    /// Kafka partition of the events topic.
    Partition(i32),
    /// gRPC shard (hash of tenant and account).
    Grpc(u32),
}

impl ShardId {
    /// The number reported to Admin clients: the partition, or -1 - n for gRPC shard n.
    pub fn number(self) -> i32 {
        match self {
            ShardId::Partition(p) => p,
            ShardId::Grpc(n) => -1 - n as i32,
        }
    }
}

/// Every shard of this instance.
pub struct Shards {
    ctx: Arc<EngineContext>,
    grpc: Vec<Arc<Engine>>,
    partitions: RwLock<BTreeMap<i32, Arc<Engine>>>,
}

impl Shards {
    /// `grpc_shards` gRPC shards (at least one) over `ctx`, and no partitions yet.
    pub fn new(ctx: Arc<EngineContext>, grpc_shards: u32) -> Self {
        let grpc = (0..grpc_shards.max(1))
            .map(|_| Arc::new(Engine::with_context(ctx.clone())))
            .collect();
        Shards {
            ctx,
            grpc,
            partitions: RwLock::new(BTreeMap::new()),
        }
    }

    /// The shared context.
    pub fn context(&self) -> &Arc<EngineContext> {
        &self.ctx
    }

    /// The gRPC shard of an account.
    #[inline]
    pub fn grpc_shard(&self, tenant_id: &str, account_id: &str) -> &Arc<Engine> {
        let h = xxh3_64(tenant_id.as_bytes()) ^ xxh3_64(account_id.as_bytes()).rotate_left(17);
        &self.grpc[(h % self.grpc.len() as u64) as usize]
    }

    /// The shard of a partition, created empty if new.
    pub fn partition(&self, p: i32) -> Arc<Engine> {
        if let Some(e) = self.partitions.read().ok().and_then(|m| m.get(&p).cloned()) {
            return e;
        }
        let mut m = match self.partitions.write() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        m.entry(p)
            .or_insert_with(|| Arc::new(Engine::with_context(self.ctx.clone())))
            .clone()
    }

    /// Installs a shard for a partition (restored from a snapshot).
    pub fn install_partition(&self, p: i32, engine: Arc<Engine>) {
        if let Ok(mut m) = self.partitions.write() {
            m.insert(p, engine);
        }
    }

    /// Removes a partition's shard (revoked), returning it.
    pub fn remove_partition(&self, p: i32) -> Option<Arc<Engine>> {
        self.partitions.write().ok().and_then(|mut m| m.remove(&p))
    }

    /// Partitions owned.
    pub fn partition_ids(&self) -> Vec<i32> {
        self.partitions
            .read()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default()
    }

    fn all(&self) -> Vec<(ShardId, Arc<Engine>)> {
        let mut out: Vec<(ShardId, Arc<Engine>)> = self
            .partitions
            .read()
            .map(|m| {
                m.iter()
                    .map(|(p, e)| (ShardId::Partition(*p), e.clone()))
                    .collect()
            })
            .unwrap_or_default();
        out.extend(
            self.grpc
                .iter()
                .enumerate()
                .map(|(i, e)| (ShardId::Grpc(i as u32), e.clone())),
        );
        out
    }

    /// Finds an account in whichever shard holds it.
    pub fn find_account(&self, tenant_id: &str, account_id: &str) -> Option<(ShardId, Account)> {
        self.all()
            .into_iter()
            .find_map(|(id, e)| e.account(tenant_id, account_id).map(|a| (id, a)))
    }

    /// The numbers (account ids) any shard has seen on `tenant_id`'s WABA
    /// `waba_id` (each shard keeps up to
    /// [`crate::state::store::MAX_NUMBERS_PER_WABA`] per WABA).
    pub fn waba_numbers(&self, tenant_id: &str, waba_id: &str) -> HashSet<String> {
        let key = crate::state::waba_key(tenant_id, waba_id);
        let mut out = HashSet::new();
        for (_, e) in self.all() {
            if let Some(w) = e.wabas().get(key) {
                out.extend(w.numbers.account_ids().map(str::to_string));
            }
        }
        out
    }

    /// The numbers any shard has seen on `tenant_id`'s business portfolio
    /// `business_id` (each shard keeps up to 128 per portfolio).
    pub fn portfolio_numbers(&self, tenant_id: &str, business_id: &str) -> HashSet<String> {
        let key = crate::state::portfolio_key(tenant_id, business_id);
        let mut out = HashSet::new();
        for (_, e) in self.all() {
            if let Some(p) = e.portfolios().get(key) {
                out.extend(p.numbers.account_ids().map(str::to_string));
            }
        }
        out
    }

    /// Calls `f` for every tracked account of every shard.
    pub fn for_each_account(&self, mut f: impl FnMut(ShardId, &Account)) {
        for (id, e) in self.all() {
            e.store().for_each_account(|a| f(id, a));
        }
    }

    /// Sizes summed over every shard, and the number of partition shards.
    pub fn stats(&self) -> (StoreStats, usize) {
        let all = self.all();
        let partitions = all
            .iter()
            .filter(|(id, _)| matches!(id, ShardId::Partition(_)))
            .count();
        let mut s = StoreStats::default();
        for (_, e) in all {
            let x = e.store_stats();
            s.accounts += x.accounts;
            s.conversations += x.conversations;
            s.account_bytes += x.account_bytes;
            s.conversation_bytes += x.conversation_bytes;
        }
        (s, partitions)
    }
}
