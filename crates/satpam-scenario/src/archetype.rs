//! Account archetypes: what kind of WhatsApp business traffic an account
//! sends. The baseline family's archetypes are snake_case; the adversarial
//! family's (see `adversarial`) are kebab-case, so a label says which
//! family produced it.

/// The kind of traffic an account produces; the label the detector is scored against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Archetype {
    /// Business FAQ/support bot with handoffs to humans.
    SupportBot,
    /// Mostly outbound templates (utility, marketing, authentication).
    NotificationSender,
    /// Human agents answering by hand.
    HumanAgentDesk,
    /// Business bot using AI for long on-topic answers (allowed).
    AiBusinessBot,
    /// Open-domain AI assistant served over WhatsApp (violating).
    AssistantDistributor,
    /// Open-domain AI assistant disguised as a business bot (violating).
    EvasiveAssistant,
    /// Support bot whose users often go off-topic; it deflects (allowed).
    NoisyBusinessBot,
    /// A business whose replies are sent by Meta's own Business Agent: AI-heavy,
    /// open-ended answers shaped like an assistant's, but allowed by the terms
    /// (a hard negative). One in eight of the accounts drawn as
    /// `AssistantDistributor` (every account whose index is 3 mod 8) is
    /// relabelled, with no extra random draw, so the rest of the scenario is
    /// unchanged.
    MetaBusinessAgent,
    /// One assistant spread thin over the numbers of one WABA, each number
    /// below the per-number thresholds (violating). Never drawn: the last
    /// numbers of each even block of accounts (see `waba`).
    WabaSpreadAssistant,
    /// A large retailer: many numbers on one WABA, each a support or AI
    /// business bot (allowed). Never drawn: the last numbers of each odd
    /// block of accounts (see `waba`).
    MultiNumberRetailer,
    /// Adversarial: ChatGPT on WhatsApp: text, images and voice notes in,
    /// long answers out (violating).
    ChatGpt,
    /// Adversarial: Perplexity: answers with numbered sources and links (violating).
    Perplexity,
    /// Adversarial: Copilot: coding and work questions on weekdays, answers
    /// with code (violating).
    Copilot,
    /// Adversarial: a Luzia/Poke-like consumer assistant: voice-heavy, chatty,
    /// a daily habit (violating).
    ConsumerAssistant,
    /// Adversarial evasion: every session opens with a template or a menu the
    /// way a business bot does (violating).
    TemplateOpener,
    /// Adversarial evasion: replies are marked as sent by a human agent (violating).
    HumanLabelled,
    /// Adversarial evasion: a few users an hour (violating).
    LowVolume,
    /// Adversarial evasion: reply latency stretched to look human (violating).
    Paced,
    /// Adversarial evasion: one assistant spread over many phone numbers of
    /// one WABA, its users hopping between them (violating).
    SplitNumbers,
    /// Adversarial hard negative: an LLM-backed business FAQ bot that answers
    /// at length, on business topics, with hand-over (allowed).
    LlmFaqBot,
    /// Adversarial hard negative: marketing campaigns sent in bursts (allowed).
    MarketingBlast,
    /// Adversarial hard negative: customer care, a menu then a bot, then a
    /// person (allowed).
    CareWithHandover,
    /// Adversarial hard negative: a business answered by Meta's own Business
    /// AI, on business and open-ended questions alike (allowed).
    MetaBusinessAi,
    /// Adversarial hard negative: a travel and restaurant booking desk whose
    /// users ask about more than bookings (allowed).
    Booking,
    /// Adversarial hard negative: a shop's order-tracking and shipping bot,
    /// Indonesian small shops (UMKM) among them (allowed).
    OrderTracking,
}

impl Archetype {
    /// Every archetype of the baseline family, in label order.
    pub const ALL: [Archetype; 10] = [
        Archetype::SupportBot,
        Archetype::NotificationSender,
        Archetype::HumanAgentDesk,
        Archetype::AiBusinessBot,
        Archetype::AssistantDistributor,
        Archetype::EvasiveAssistant,
        Archetype::NoisyBusinessBot,
        Archetype::MetaBusinessAgent,
        Archetype::WabaSpreadAssistant,
        Archetype::MultiNumberRetailer,
    ];

    /// Every archetype of the adversarial family, violating ones first.
    pub const ADVERSARIAL: [Archetype; 15] = [
        Archetype::ChatGpt,
        Archetype::Perplexity,
        Archetype::Copilot,
        Archetype::ConsumerAssistant,
        Archetype::TemplateOpener,
        Archetype::HumanLabelled,
        Archetype::LowVolume,
        Archetype::Paced,
        Archetype::SplitNumbers,
        Archetype::LlmFaqBot,
        Archetype::MarketingBlast,
        Archetype::CareWithHandover,
        Archetype::MetaBusinessAi,
        Archetype::Booking,
        Archetype::OrderTracking,
    ];

    /// The name used in labels and docs (snake_case in the baseline family,
    /// kebab-case in the adversarial one).
    pub fn name(self) -> &'static str {
        match self {
            Archetype::SupportBot => "support_bot",
            Archetype::NotificationSender => "notification_sender",
            Archetype::HumanAgentDesk => "human_agent_desk",
            Archetype::AiBusinessBot => "ai_business_bot",
            Archetype::AssistantDistributor => "assistant_distributor",
            Archetype::EvasiveAssistant => "evasive_assistant",
            Archetype::NoisyBusinessBot => "noisy_business_bot",
            Archetype::MetaBusinessAgent => "meta_business_agent",
            Archetype::WabaSpreadAssistant => "waba_spread_assistant",
            Archetype::MultiNumberRetailer => "multi_number_retailer",
            Archetype::ChatGpt => "chatgpt",
            Archetype::Perplexity => "perplexity",
            Archetype::Copilot => "copilot",
            Archetype::ConsumerAssistant => "consumer-assistant",
            Archetype::TemplateOpener => "template-opener",
            Archetype::HumanLabelled => "human-labelled",
            Archetype::LowVolume => "low-volume",
            Archetype::Paced => "paced",
            Archetype::SplitNumbers => "split-numbers",
            Archetype::LlmFaqBot => "llm-faq-bot",
            Archetype::MarketingBlast => "marketing-blast",
            Archetype::CareWithHandover => "care-with-handover",
            Archetype::MetaBusinessAi => "meta-business-ai",
            Archetype::Booking => "booking",
            Archetype::OrderTracking => "order-tracking",
        }
    }

    /// Whether the account distributes a general-purpose assistant (the violation).
    pub fn is_violating(self) -> bool {
        matches!(
            self,
            Archetype::AssistantDistributor
                | Archetype::EvasiveAssistant
                | Archetype::WabaSpreadAssistant
                | Archetype::ChatGpt
                | Archetype::Perplexity
                | Archetype::Copilot
                | Archetype::ConsumerAssistant
                | Archetype::TemplateOpener
                | Archetype::HumanLabelled
                | Archetype::LowVolume
                | Archetype::Paced
                | Archetype::SplitNumbers
        )
    }

    /// Parses a name produced by [`Archetype::name`] (either family).
    pub fn from_name(name: &str) -> Option<Self> {
        Archetype::ALL
            .into_iter()
            .chain(Archetype::ADVERSARIAL)
            .find(|a| a.name() == name)
    }

    /// Share of accounts drawn with this archetype in the baseline family
    /// (the weights sum to 1; 0 for the adversarial family's); one in eight
    /// assistant distributors then becomes `MetaBusinessAgent`.
    pub fn share(self) -> f64 {
        match self {
            Archetype::SupportBot => 0.28,
            Archetype::NotificationSender => 0.20,
            Archetype::HumanAgentDesk => 0.12,
            Archetype::AiBusinessBot => 0.12,
            Archetype::AssistantDistributor => 0.09,
            Archetype::EvasiveAssistant => 0.09,
            Archetype::NoisyBusinessBot => 0.10,
            // Never drawn: relabelled from `AssistantDistributor` (see the variant).
            Archetype::MetaBusinessAgent => 0.0,
            // Never drawn: the numbers of multi-number WABAs (see `waba`).
            Archetype::WabaSpreadAssistant | Archetype::MultiNumberRetailer => 0.0,
            // The adversarial family draws its own (see `adversarial`).
            _ => 0.0,
        }
    }

    /// Picks an archetype by share from a uniform draw `u` in `[0, 1)`.
    pub(crate) fn from_unit(u: f64) -> Archetype {
        let mut acc = 0.0;
        for a in Archetype::ALL {
            acc += a.share();
            if u < acc {
                return a;
            }
        }
        Archetype::NoisyBusinessBot
    }
}

impl std::fmt::Display for Archetype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
