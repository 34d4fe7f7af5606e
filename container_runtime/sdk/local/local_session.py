"""`sagemaker.local.local_session`'s path to `LocalSession`."""

from container_runtime.sdk.local import LocalSession

__all__ = ["LocalSession"]
