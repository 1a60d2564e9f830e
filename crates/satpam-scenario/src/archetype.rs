//! Account archetypes: what kind of WhatsApp business traffic an account sends.

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
}

impl Archetype {
    /// Every archetype, in label order.
    pub const ALL: [Archetype; 8] = [
        Archetype::SupportBot,
        Archetype::NotificationSender,
        Archetype::HumanAgentDesk,
        Archetype::AiBusinessBot,
        Archetype::AssistantDistributor,
        Archetype::EvasiveAssistant,
        Archetype::NoisyBusinessBot,
        Archetype::MetaBusinessAgent,
    ];

    /// The snake_case name used in labels and docs.
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
        }
    }

    /// Whether the account distributes a general-purpose assistant (the violation).
    pub fn is_violating(self) -> bool {
        matches!(
            self,
            Archetype::AssistantDistributor | Archetype::EvasiveAssistant
        )
    }

    /// Parses a name produced by [`Archetype::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Archetype::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Share of accounts drawn with this archetype (the weights sum to 1);
    /// one in eight assistant distributors then becomes `MetaBusinessAgent`.
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
