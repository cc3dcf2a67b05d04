"""Strict harness: float64 by default (float32 is tested with float32 data),
and implicit rank promotion is an error, so accidental broadcasting fails."""

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
