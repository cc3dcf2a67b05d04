"""The fitting engine (private): everything between validated input and a
result's numbers, one implementation of each piece, used by every entry point.

Modules, bottom to top (each imports only those above it in this list):

* :mod:`~jaxmle._engine.cache` -- the program store (compiled executables on disk);
* :mod:`~jaxmle._engine.buckets` -- the shape-bucket ladder;
* :mod:`~jaxmle._engine.compile` -- ``jit`` with the compile policy;
* :mod:`~jaxmle._engine.validation` -- checks of user input, with messages;
* :mod:`~jaxmle._engine.plan` -- the user's options, defaults, the static plan;
* :mod:`~jaxmle._engine.objective` -- the log-likelihood and its one-pass
  derivatives in the solver's coordinates;
* :mod:`~jaxmle._engine.output` -- the typed output of a fit program and the
  program that turns it into estimates, covariance and standard errors;
* :mod:`~jaxmle._engine.program` -- the fit of one in-memory dataset
  (closed form, sufficient statistics, Newton, optax, mini-batch);
* :mod:`~jaxmle._engine.batch_input` -- many datasets as one rectangular batch;
* :mod:`~jaxmle._engine.batch` -- that program ``vmap``-ed over datasets;
* :mod:`~jaxmle._engine.streaming` -- fits of host data streamed in chunks;
* :mod:`~jaxmle._engine.sharding` -- fits of data sharded over devices;
* :mod:`~jaxmle._engine.refit` -- what a result keeps to refit its data.
"""
