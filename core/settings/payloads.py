"""The claim-check settings (``GENNAKER_PAYLOADS__*``): when a payload leaves history and where it goes."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

KIB = 1024
MIB = 1024 * KIB


class PayloadSettings(BaseModel):
    """Payloads above ``threshold_bytes`` are stored once in a blob store and referenced from Temporal's history.

    The blob store is the store's database (``database_url`` unset: the same one as ``GENNAKER_DATABASE_URL``),
    or a directory when ``blob_dir`` is set (a local disk or an object-store mount shared by every process).
    """

    model_config = ConfigDict(extra="forbid")

    #: encoded payloads larger than this are claim-checked; smaller ones pass through byte-identical
    threshold_bytes: int = Field(default=128 * KIB, ge=4 * KIB, le=2 * MIB)
    #: large JSON sub-values (half the threshold or more) are stored once across payloads (docs/payloads.md)
    json_parts: bool = True
    #: a JSON payload at or under the threshold that embeds a sub-value this big or bigger (a trigger in every
    #: stage's input) is referenced too, the sub-value stored once; 0: such payloads pass untouched
    embedded_part_bytes: int = Field(default=16 * KIB, ge=0, le=2 * MIB)
    #: store blobs as files under this directory instead of in the database
    blob_dir: Path | None = None
    #: the blob database when it is not the store's (``blob_dir`` unset)
    database_url: SecretStr | None = None
    #: the in-process cache of decoded blobs, per process (0 turns it off)
    cache_bytes: int = Field(default=64 * MIB, ge=0)
    #: blobs nobody referenced for this long (and no running workflow refers to) may be collected; the
    #: collector never uses less than the Temporal namespace's own retention
    retention_days: float = Field(default=30.0, gt=0)
    #: browser origins the Web UI calls the codec endpoint from; empty: the local dev server's UI port
    codec_cors_origins: list[str] = Field(default_factory=list)
