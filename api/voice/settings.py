"""The voice channel's settings, read from ``BATON_VOICE_*`` (and ``OPENAI_*`` for the remote engines)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class VoiceSettings(BaseSettings):
    """Every field is documented in the README's voice section."""

    model_config = SettingsConfigDict(env_prefix="BATON_VOICE_", env_file=".env", extra="ignore")

    engine: str = Field(
        default="auto",
        description="auto = OpenAI-compatible audio endpoints when OPENAI_BASE_URL is set, else offline; "
        "offline = PocketSphinx + eSpeak NG; openai = the endpoints.",
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("BATON_VOICE_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("BATON_VOICE_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    stt_model: str = Field(default="whisper-1", description="Model name for /audio/transcriptions.")
    tts_model: str = Field(default="tts-1", description="Model name for /audio/speech.")
    tts_voice: str = Field(default="alloy", description="Voice for /audio/speech.")
    remote_timeout_s: float = Field(
        default=30.0, gt=0, description="Longest wait for the audio endpoints before the offline engine."
    )
    espeak_voice: str = Field(
        default="en-us+f2", description="eSpeak NG voice (the one PocketSphinx reads best of six tried)."
    )
    espeak_speed: int = Field(default=150, ge=80, le=450, description="eSpeak NG words per minute.")
    max_utterance_s: float = Field(default=20.0, gt=0, description="Longest caller turn; longer is refused.")
    max_call_s: float = Field(default=1800.0, gt=0, description="Audio a socket may send in all.")
    max_frame_bytes: int = Field(default=64_000, gt=0, description="Largest binary frame (2 s of PCM).")
    end_silence_ms: int = Field(default=700, ge=90, description="Silence that ends the caller's turn.")
    vad_aggressiveness: int = Field(default=2, ge=0, le=3, description="webrtcvad mode (3 = strictest).")
    confirm_below: float = Field(
        default=0.5, ge=0, le=1, description="Transcripts less confident than this are marked 'to confirm'."
    )
