#!/usr/bin/env bash
# Installs the PyTorch peer used by bench/: Debian's python3-torch, linked at run time against
# OpenBLAS (libopenblas0-pthread replaces the generic reference BLAS through update-alternatives,
# so torch's matrix products are multi-threaded and vectorised). Benchmarks only; not needed by
# the product or its tests.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y python3-torch python3-numpy libopenblas0-pthread
/usr/bin/python3 -c 'import torch; print("torch", torch.__version__)'
update-alternatives --display libblas.so.3-x86_64-linux-gnu | head -2
