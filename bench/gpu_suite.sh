#!/usr/bin/env bash
# bench/gpu_suite.sh: the GPU suite (bench/gpu_suite.py) as one command on the device machine.
#
#   bash bench/gpu_suite.sh --prepare      # here, once: fetch the Keras wheels into .whl/ and copy
#                                          # the CIFAR-10 archive and Fashion-MNIST into .gpu_data/
#   bash bench/gpu_suite.sh [suite args]   # there (or here): install .whl/ into /tmp/site, run the suite
#
# The device machine has JAX (CUDA) but no Keras and no TensorFlow, and reaches no registry, so the
# three wheels Keras needs (keras, namex, optree, ~3 MB) travel with the working tree in .whl/, as
# ../shared/GPU.md describes; the data travel in .gpu_data/ (~50 MB; ../shared does not travel).
# Both folders must be ignored by git and named in the run's `carry` list: see docs/gpu.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

prepare() {
  local shared=../shared/data
  for ignored in .whl .gpu_data; do
    if ! git check-ignore -q "$ignored"; then
      echo "gpu_suite.sh: error: $ignored/ is not ignored by git; add '/$ignored/' to .git/info/exclude" >&2
      exit 2
    fi
  done
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl keras namex optree
  mkdir -p .gpu_data/fashion-mnist
  cp -p "$shared/cifar10/cifar10-jpeg.tar.gz" .gpu_data/
  cp -p "$shared"/fashion-mnist/*-ubyte.gz .gpu_data/fashion-mnist/
  local bytes
  bytes=$(du -cb .whl .gpu_data | tail -1 | cut -f1)
  echo "prepared .whl/ and .gpu_data/: $((bytes / 1048576)) MiB to carry (the limit is 64 MiB with the tree)"
}

if [[ "${1:-}" == "--prepare" ]]; then
  prepare
  exit 0
fi

if compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
exec python3 bench/gpu_suite.py "$@"
