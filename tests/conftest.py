"""Strict harness: float64 by default (float32 is tested with float32 data),
and implicit rank promotion is an error, so accidental broadcasting fails.

The suite's time is XLA compilation. Under pytest-xdist every worker would
compile the same programs again (the tests of one family are spread over the
workers), so the workers of one run share JAX's persistent compilation cache.
"""

import os
import tempfile

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")

_run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
if _run:
    jax.config.update(
        "jax_compilation_cache_dir", os.path.join(tempfile.gettempdir(), f"jaxmle-xla-{_run}")
    )
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
