"""`sagemaker.local`'s names: `LocalSession` is a `Session` (everything here is local already)."""

from __future__ import annotations

from typing import Any

from container_runtime.sdk.session import Session


class LocalSession(Session):
    """The SDK's LocalSession, with its arguments; `s3_endpoint_url`, when given, is where uploads go."""

    def __init__(self, boto_session: Any = None, default_bucket: str | None = None,
                 s3_endpoint_url: str | None = None, disable_local_code: bool = False,
                 sagemaker_config: Any = None, default_bucket_prefix: str | None = None) -> None:
        super().__init__(boto_session=boto_session, default_bucket=default_bucket, sagemaker_config=sagemaker_config,
                         default_bucket_prefix=default_bucket_prefix)
        self.s3_endpoint_url = s3_endpoint_url
        self.config: dict[str, Any] = {"local": {"local_code": not disable_local_code}}

    def s3_endpoint(self) -> str | None:
        return self.s3_endpoint_url or super().s3_endpoint()


__all__ = ["LocalSession"]
