"""Poll templates a host would really ask at a live talk or webinar.

Categories: `quick_pulse` (one-click check-ins for a quiet room), `opinion` (invite a view when
interest fades), `interactive` (let the audience steer after a drop), `crisis` (find out fast
why people are leaving), and `topic_specific` (chosen when the session's topic or tags match
the template's keywords; templates with `{topic}` need a known topic and fit any subject).
"""

from __future__ import annotations

from dataclasses import dataclass

from conductor.core.content.topics import normalise


@dataclass(frozen=True, slots=True)
class PollTemplate:
    id: str
    category: str
    question: str
    options: tuple[str, ...]
    type: str
    """`multiple_choice`, `rating` or `yes_no`."""
    duration: int
    """Seconds the poll is meant to stay open."""
    keywords: frozenset[str] = frozenset()
    """Normalised topic words that select this template; empty for general templates."""

    @property
    def needs_topic(self) -> bool:
        return "{topic}" in self.question

    def __post_init__(self) -> None:
        if not 2 <= len(self.options) <= 6:
            raise ValueError(f"poll {self.id} needs 2..6 options")
        if self.duration <= 0:
            raise ValueError(f"poll {self.id} needs a positive duration")


def _kw(*words: str) -> frozenset[str]:
    return frozenset(normalise(w) for w in words)


# Keywords that select the topic-specific polls, by topic.
_AI = _kw(
    "ai", "artificial intelligence", "machine learning", "ml", "llm", "genai", "generative ai"
)
_SECURITY = _kw("security", "cybersecurity", "cyber", "infosec", "privacy", "compliance")
_PRODUCT = _kw("product", "product management", "roadmap", "saas", "startup")
_LEADERSHIP = _kw(
    "leadership",
    "leader",
    "leaders",
    "manager",
    "managers",
    "people management",
    "culture",
    "executive",
)
_MARKETING = _kw(
    "marketing", "growth", "brand", "branding", "seo", "content marketing", "demand generation"
)
_DATA = _kw(
    "data",
    "analytics",
    "bi",
    "business intelligence",
    "data science",
    "data engineering",
    "big data",
)
_DESIGN = _kw("design", "ux", "ui", "user experience", "user research", "accessibility")
_DEVOPS = _kw(
    "devops",
    "sre",
    "platform engineering",
    "cloud",
    "kubernetes",
    "ci/cd",
    "infrastructure",
    "observability",
)
_SALES = _kw("sales", "selling", "revenue", "b2b", "customer success", "account management")
_HR = _kw(
    "hr", "human resources", "people ops", "talent", "recruiting", "hiring", "employee experience"
)
_FINANCE = _kw("finance", "fintech", "accounting", "budget", "budgeting", "investment", "cfo")
_HEALTH = _kw("health", "healthcare", "medical", "medicine", "clinical", "nursing", "wellbeing")
_EDUCATION = _kw(
    "education", "teaching", "teachers", "edtech", "school", "university", "training", "e-learning"
)


QUICK_PULSE = "quick_pulse"
OPINION = "opinion"
INTERACTIVE = "interactive"
CRISIS = "crisis"
TOPIC_SPECIFIC = "topic_specific"

MC = "multiple_choice"
RATING = "rating"
YES_NO = "yes_no"

POLL_TEMPLATES: tuple[PollTemplate, ...] = (
    # quick_pulse: low effort, answerable in a second
    PollTemplate(
        "qp_pace",
        QUICK_PULSE,
        "Quick check-in: how is the pace so far?",
        ("Too fast", "Just right", "Too slow"),
        MC,
        45,
    ),
    PollTemplate(
        "qp_clarity",
        QUICK_PULSE,
        "How clear has the session been so far?",
        ("1 - I'm lost", "2", "3", "4", "5 - Crystal clear"),
        RATING,
        60,
    ),
    PollTemplate(
        "qp_location",
        QUICK_PULSE,
        "Where are you joining from today?",
        ("The office", "Home", "On the move", "Somewhere else"),
        MC,
        45,
    ),
    PollTemplate(
        "qp_energy",
        QUICK_PULSE,
        "Honest answer: what's your energy level right now?",
        ("Fully charged", "Doing fine", "Need a coffee", "Running on empty"),
        MC,
        45,
    ),
    PollTemplate(
        "qp_useful",
        QUICK_PULSE,
        "Is what you've heard so far useful for your day-to-day work?",
        ("Very useful", "Somewhat useful", "Not yet", "Not really"),
        MC,
        60,
    ),
    PollTemplate(
        "qp_more_of",
        QUICK_PULSE,
        "What would you like more of in the next few minutes?",
        ("Real examples", "A live demo", "Questions and answers", "Facts and figures"),
        MC,
        60,
    ),
    PollTemplate(
        "qp_follow",
        QUICK_PULSE,
        "Are you able to follow along comfortably?",
        ("Yes, all good", "Mostly", "I'm a bit lost"),
        YES_NO,
        45,
    ),
    # opinion: ask for a view, people like to be asked
    PollTemplate(
        "op_agree",
        OPINION,
        "Do you agree with the point that was just made?",
        ("Strongly agree", "Agree", "Not sure", "Disagree", "Strongly disagree"),
        RATING,
        60,
    ),
    PollTemplate(
        "op_try_it",
        OPINION,
        "Would you try what's being described in your own team?",
        ("Yes, this week", "Yes, at some point", "Maybe, with changes", "No, not for us"),
        MC,
        60,
    ),
    PollTemplate(
        "op_surprise",
        OPINION,
        "What has surprised you most so far?",
        ("A new idea", "A number or statistic", "An example", "Nothing yet"),
        MC,
        60,
    ),
    PollTemplate(
        "op_experience",
        OPINION,
        "How much experience do you have with today's subject?",
        ("New to it", "Some", "A lot", "I could teach it"),
        MC,
        45,
    ),
    PollTemplate(
        "op_takeaway",
        OPINION,
        "If you could take only one thing away from this session, what would it be?",
        ("A practical tip", "A framework to reuse", "New contacts", "Fresh inspiration"),
        MC,
        60,
    ),
    PollTemplate(
        "op_rating",
        OPINION,
        "How would you rate the session so far?",
        ("1 - Poor", "2", "3", "4", "5 - Excellent"),
        RATING,
        60,
    ),
    PollTemplate(
        "op_tradeoff",
        OPINION,
        "When you have to choose, what usually wins in your work?",
        ("Speed", "Quality", "Cost", "It depends on the day"),
        MC,
        60,
    ),
    # interactive: hand the audience the wheel
    PollTemplate(
        "ia_next",
        INTERACTIVE,
        "You decide: what should we cover next?",
        (
            "A real-world case study",
            "Common mistakes to avoid",
            "Tools and resources",
            "Your questions",
        ),
        MC,
        90,
    ),
    PollTemplate(
        "ia_format",
        INTERACTIVE,
        "How would you like the next part to run?",
        (
            "Keep presenting",
            "Show a live demo",
            "Open questions and answers",
            "A short break first",
        ),
        MC,
        60,
    ),
    PollTemplate(
        "ia_revisit",
        INTERACTIVE,
        "Before we move on: which part should we go over again?",
        ("The opening idea", "The main example", "The last point", "No need, all clear"),
        MC,
        60,
    ),
    PollTemplate(
        "ia_stage",
        INTERACTIVE,
        "Where are you on this journey right now?",
        ("Already doing it", "About to start", "Just curious", "Here for my team"),
        MC,
        60,
    ),
    PollTemplate(
        "ia_challenge",
        INTERACTIVE,
        "Which of these is your biggest obstacle at the moment?",
        ("Time", "Budget", "Skills", "Support from others"),
        MC,
        60,
    ),
    PollTemplate(
        "ia_question_topic",
        INTERACTIVE,
        "Got a question brewing? What is it mostly about?",
        ("The basics", "How to get started", "Advanced details", "Costs and effort"),
        MC,
        60,
    ),
    PollTemplate(
        "ia_one_word",
        INTERACTIVE,
        "Pick the word that best describes the session so far.",
        ("Inspiring", "Practical", "Challenging", "Slow"),
        MC,
        45,
    ),
    # crisis: people are leaving, find out why and act on it
    PollTemplate(
        "cr_help_most",
        CRISIS,
        "We want this to be worth your time: what would help most right now?",
        ("Get to the practical part", "More examples", "Take questions now", "A short break"),
        MC,
        60,
    ),
    PollTemplate(
        "cr_pace",
        CRISIS,
        "Should we change the pace?",
        ("Speed up", "Slow down", "Keep it as it is"),
        MC,
        45,
    ),
    PollTemplate(
        "cr_tech",
        CRISIS,
        "Is everything working on your side?",
        ("All fine", "Audio problems", "Video problems", "Both"),
        MC,
        45,
    ),
    PollTemplate(
        "cr_skip",
        CRISIS,
        "Shall we skip ahead to the part you came for?",
        ("Yes, skip ahead", "No, keep going", "Jump straight to questions"),
        MC,
        45,
    ),
    PollTemplate(
        "cr_stay",
        CRISIS,
        "What would make the rest of this session worth staying for?",
        (
            "Hands-on examples",
            "Templates to take away",
            "Answers to my questions",
            "A shorter session",
        ),
        MC,
        60,
    ),
    PollTemplate(
        "cr_missing",
        CRISIS,
        "What's missing from this session for you?",
        ("More depth", "Practical steps", "More interaction", "Nothing, it's great"),
        MC,
        60,
    ),
    # topic_specific: selected by topic or tags
    PollTemplate(
        "ts_ai_adoption",
        TOPIC_SPECIFIC,
        "Where is your team with AI today?",
        ("Not started", "Experimenting", "Running pilots", "In production"),
        MC,
        60,
        _AI,
    ),
    PollTemplate(
        "ts_ai_blocker",
        TOPIC_SPECIFIC,
        "What's the biggest blocker to using AI in your work?",
        ("Data quality", "Skills", "Cost", "Trust and risk", "Unclear use cases"),
        MC,
        60,
        _AI,
    ),
    PollTemplate(
        "ts_security_posture",
        TOPIC_SPECIFIC,
        "How confident are you in your organisation's security today?",
        ("Very confident", "Fairly confident", "Not very", "Worried"),
        RATING,
        60,
        _SECURITY,
    ),
    PollTemplate(
        "ts_security_threat",
        TOPIC_SPECIFIC,
        "Which threat worries you most?",
        (
            "Phishing",
            "Ransomware",
            "Insider risk",
            "Supply chain attacks",
            "Cloud misconfiguration",
        ),
        MC,
        60,
        _SECURITY,
    ),
    PollTemplate(
        "ts_product_next",
        TOPIC_SPECIFIC,
        "How does your team decide what to build next?",
        ("Customer interviews", "Usage data", "Leadership decides", "What competitors ship"),
        MC,
        60,
        _PRODUCT,
    ),
    PollTemplate(
        "ts_leadership_hardest",
        TOPIC_SPECIFIC,
        "What's the hardest part of leading a team today?",
        ("Hybrid work", "Keeping people motivated", "Hiring", "Giving feedback", "Managing change"),
        MC,
        60,
        _LEADERSHIP,
    ),
    PollTemplate(
        "ts_marketing_channel",
        TOPIC_SPECIFIC,
        "Which channel brings you the best results right now?",
        ("Search", "Social media", "Email", "Events", "Partnerships"),
        MC,
        60,
        _MARKETING,
    ),
    PollTemplate(
        "ts_data_trust",
        TOPIC_SPECIFIC,
        "How much do you trust the data your decisions rely on?",
        ("Completely", "Mostly", "Somewhat", "Not much"),
        RATING,
        60,
        _DATA,
    ),
    PollTemplate(
        "ts_design_involved",
        TOPIC_SPECIFIC,
        "When does design get involved in your projects?",
        ("From day one", "After the requirements", "Near the end", "Rarely"),
        MC,
        60,
        _DESIGN,
    ),
    PollTemplate(
        "ts_devops_deploys",
        TOPIC_SPECIFIC,
        "How often does your team deploy to production?",
        ("Several times a day", "Weekly", "Monthly", "Less often"),
        MC,
        60,
        _DEVOPS,
    ),
    PollTemplate(
        "ts_sales_stage",
        TOPIC_SPECIFIC,
        "Which stage of your sales cycle is the toughest?",
        ("Prospecting", "Discovery", "Negotiation", "Closing", "Renewal"),
        MC,
        60,
        _SALES,
    ),
    PollTemplate(
        "ts_hr_priority",
        TOPIC_SPECIFIC,
        "What's your top people priority this year?",
        ("Hiring", "Retention", "Wellbeing", "Learning and development", "Inclusion"),
        MC,
        60,
        _HR,
    ),
    PollTemplate(
        "ts_finance_focus",
        TOPIC_SPECIFIC,
        "What's your biggest finance focus this quarter?",
        ("Cutting costs", "Forecasting", "Raising funds", "Automation", "Compliance"),
        MC,
        60,
        _FINANCE,
    ),
    PollTemplate(
        "ts_health_barrier",
        TOPIC_SPECIFIC,
        "What's the biggest barrier to better care where you work?",
        ("Staffing", "Funding", "Technology", "Patient access"),
        MC,
        60,
        _HEALTH,
    ),
    PollTemplate(
        "ts_education_format",
        TOPIC_SPECIFIC,
        "Which format works best for your learners?",
        ("Live classes", "Self-paced courses", "A blend of both", "Mentoring"),
        MC,
        60,
        _EDUCATION,
    ),
    PollTemplate(
        "ts_any_challenge",
        TOPIC_SPECIFIC,
        "What's your biggest challenge with {topic}?",
        ("Getting started", "Finding the time", "Getting buy-in", "Measuring results"),
        MC,
        60,
    ),
    PollTemplate(
        "ts_any_level",
        TOPIC_SPECIFIC,
        "How would you rate your own experience with {topic}?",
        ("Beginner", "Intermediate", "Advanced", "Expert"),
        RATING,
        45,
    ),
    PollTemplate(
        "ts_any_next",
        TOPIC_SPECIFIC,
        "What should we dig into next about {topic}?",
        ("Real examples", "Common pitfalls", "Tools that help", "Where it's heading"),
        MC,
        90,
    ),
)
