"""Registers every sandbox extension with moto. Call :func:`apply` before the server starts.

Idempotent. Never imported by Pantry's Django code.
"""

from __future__ import annotations

import threading

from moto.sagemaker import models as sm_models
from moto.sagemaker.responses import SageMakerResponse

from . import organizations_ext, ram, sts_ext
from .featurestore import FeatureStoreBackendMixin, FeatureStoreResponseMixin
from .lineage import LineageBackendMixin, LineageResponseMixin

_applied = False
_lock = threading.Lock()


class PantrySageMakerBackend(FeatureStoreBackendMixin, LineageBackendMixin, sm_models.SageMakerModelBackend):
    """moto's SageMaker backend plus Feature Store control plane and ML lineage."""

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self._init_lineage()


# moto derives the URL module (moto.sagemaker.urls) from the backend class's module.
PantrySageMakerBackend.__module__ = sm_models.__name__


def _patch_responses() -> None:
    for mixin in (FeatureStoreResponseMixin, LineageResponseMixin):
        for name, value in vars(mixin).items():
            if callable(value) and not name.startswith("__"):
                setattr(SageMakerResponse, name, value)


def apply() -> None:
    global _applied
    with _lock:
        if _applied:
            return
        backends = sm_models.sagemaker_backends
        backends.backend = PantrySageMakerBackend
        for account_backends in backends.values():
            account_backends.backend = PantrySageMakerBackend
            account_backends.clear()
        _patch_responses()
        sts_ext.apply()
        organizations_ext.apply()
        ram.apply()
        _applied = True
