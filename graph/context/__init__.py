"""Context transfer: the handoff brief every receiver reads first (the transcript stays attached)."""

from graph.context.builder import build_brief, build_brief_offline
from graph.context.extract import extract_facts
from graph.context.llm_brief import ground_facts, render_transcript
from graph.context.models import Brief, BriefDraft, Entity, Fact, SentimentView, SimilarCase
from graph.context.openers import opening_message
from graph.context.sections import (
    BUYER_SECTIONS,
    HUMAN_SECTIONS,
    KNOWN_SECTIONS,
    SELLER_SECTIONS,
    SUPPORT_SECTIONS,
    UnknownSectionError,
)
from graph.context.tokens import count_tokens

__all__ = [
    "BUYER_SECTIONS",
    "HUMAN_SECTIONS",
    "KNOWN_SECTIONS",
    "SELLER_SECTIONS",
    "SUPPORT_SECTIONS",
    "Brief",
    "BriefDraft",
    "Entity",
    "Fact",
    "SentimentView",
    "SimilarCase",
    "UnknownSectionError",
    "build_brief",
    "build_brief_offline",
    "count_tokens",
    "extract_facts",
    "ground_facts",
    "opening_message",
    "render_transcript",
]
