#!/usr/bin/env bash
# Issue 13's GPU measurements in one call, under 8 minutes on one GPU machine (one H200,
# 16 cores; /work/shared/GPU.md): install the carried wheels, generate the quickstart
# dataset with every core, then bench_train.py (RS3L preset, batch 512 jets of up to 128
# particles, against weaver-core), bench_pipeline.py (RS3L preset, batch 512 pairs,
# 16 workers) and the quickstart `rs3l run --device cuda` on that dataset, each under its
# own timeout and all within BUDGET seconds (default 470; the run gets what is left and,
# if stopped, says so: run it again on a warm machine to finish, it resumes).
#
# Usage, from the repository root:
#   bash benchmarks/gpu_check.sh            # on the GPU machine: `.whl` carried (see GPU.md), results in $OUT
#   bash benchmarks/gpu_check.sh --smoke    # here, to check the script: CPU, tiny sizes, the current Python
#                                           # environment when no .whl/ is present, results in $OUT or a temp dir
#
# Files written under $OUT (at most 8): summary.md (machine, each step's status and time,
# the tables), generate.log, bench_train.md, bench_pipeline.md, run.log, epochs.csv
# (pre-training, jets/s per epoch) and metrics.json (the quickstart's report numbers).
set -u -o pipefail

SMOKE=0
case "${1:-}" in
  --smoke) SMOKE=1 ;;
  "") ;;
  *) echo "usage: bash benchmarks/gpu_check.sh [--smoke]" >&2; exit 2 ;;
esac
if [[ ! -f benchmarks/gpu_check.sh ]]; then
  echo "run from the repository root: bash benchmarks/gpu_check.sh" >&2; exit 2
fi

START=$SECONDS
BUDGET=${BUDGET:-470}
PY=${PYTHON:-python3}
OUT=${OUT:-$(mktemp -d /tmp/gpu_check.XXXXXX)}
WORK=$(mktemp -d /tmp/gpu_check_work.XXXXXX)
SITE=${SITE:-/tmp/site}
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
SUMMARY=$OUT/summary.md

if (( SMOKE )); then
  DEVICE=cpu; WORKERS=2
  EVENTS=(--events 60)
  TRAIN_ARGS=(--device cpu --batch 16 --particles 32 --steps 2 --warmup 1 --threads 0 --presets rs3l)
  PIPE_ARGS=(--device cpu --model rs3l --batch 16 --workers 2 --steps 2 --repeat 1 --seconds 0.5)
  # the quickstart with 2 pre-training epochs, 5 head epochs, 2 tagger epochs: the same stages, in minutes
  CONFIG=$WORK/quickstart_smoke.yaml
  sed -e "s#^model: model/quickstart.yaml#model: $PWD/configs/model/quickstart.yaml#" \
      -e "s#^  epochs: 20 *\$#  epochs: 2#" -e "s#^  epochs: 100 .*#  epochs: 5#" \
      -e "s#^  finetune_epochs: 12 .*#  finetune_epochs: 2\n  min_steps: 10#" \
      -e "s#^  bootstrap: 20#  bootstrap: 2#" -e "s#^  tsne_samples: 500#  tsne_samples: 100#" \
      configs/quickstart.yaml > "$CONFIG"
else
  DEVICE=cuda; WORKERS=16
  EVENTS=()
  TRAIN_ARGS=(--device cuda --batch 512 --particles 128 --steps 20 --warmup 3 --threads 0 --presets rs3l)
  PIPE_ARGS=(--device cuda --model rs3l --batch 512 --workers 16 --steps 20 --repeat 10)
  CONFIG=configs/quickstart.yaml
fi
DATA=$WORK/run/data

left() { echo $(( BUDGET - (SECONDS - START) )); }

# step NAME CAP_SECONDS LOG COMMAND...: runs COMMAND under min(CAP, time left), output to LOG,
# one status line in the summary
step() {
  local name=$1 cap=$2 log=$3; shift 3
  local t; t=$(left); (( cap < t )) && t=$cap
  if (( t < 15 )); then
    echo "| $name | skipped: $(left) s left of $BUDGET |  |" >> "$SUMMARY"; return 1
  fi
  local s0=$SECONDS rc
  timeout -s INT -k 10 "$t" "$@" > "$log" 2>&1   # SIGINT: rs3l stops as on Ctrl-C (and resumes)
  rc=$?
  local what="ok"
  (( rc == 124 || rc == 137 )) && what="stopped at its ${t} s limit"
  (( rc != 0 && rc != 124 && rc != 137 )) && what="failed (exit $rc): $(tail -n 1 "$log" | cut -c1-150)"
  echo "| $name | $what | $(( SECONDS - s0 )) |" >> "$SUMMARY"
  return $rc
}

{
  echo "# gpu_check $(date -u +%Y-%m-%dT%H:%M:%SZ)$( (( SMOKE )) && echo ' (smoke run: CPU, tiny sizes)')"
  echo
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- cores: $(nproc), load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo none)"
  echo
  echo "| step | status | seconds |"
  echo "|---|---|---:|"
} > "$SUMMARY"

# 1. the wheels the image lacks (GPU.md's recipe); without .whl/ the current environment is used
if compgen -G ".whl/*.whl" > /dev/null; then
  step install 120 "$WORK/install.log" "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
      --target "$SITE" .whl/*.whl || { cat "$WORK/install.log" >> "$SUMMARY"; exit 1; }
  export PYTHONPATH=$SITE:$PWD
  export PYTHIA8DATA=$SITE/share/Pythia8/xmldoc
elif (( SMOKE )); then
  echo "| install | no .whl/: using $($PY -c 'import sys; print(sys.prefix)') |  |" >> "$SUMMARY"
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
else
  echo "no .whl/*.whl: carry .whl (see /work/shared/GPU.md) or use --smoke" | tee -a "$SUMMARY" >&2; exit 1
fi
echo "| torch | $("$PY" -c 'import torch; print(torch.__version__, "CUDA", torch.cuda.is_available())' 2>&1 | tail -n 1) |  |" \
  >> "$SUMMARY"

# 2. the quickstart dataset, every core (rs3l run below finds it complete and skips generation)
step generate 150 "$OUT/generate.log" "$PY" -m rs3l generate --config "$CONFIG" --out "$DATA" "${EVENTS[@]}" \
  || { echo "no dataset: stopping" >> "$SUMMARY"; exit 1; }

# 3. the model alone against weaver-core (needs weaver-core: carried as a wheel)
step bench_train 90 "$OUT/bench_train.md" "$PY" benchmarks/bench_train.py "${TRAIN_ARGS[@]}"

# 4. the loader alone and pre-training end to end against the model alone
step bench_pipeline 150 "$OUT/bench_pipeline.md" "$PY" benchmarks/bench_pipeline.py --data "$DATA" \
  --config "$CONFIG" "${PIPE_ARGS[@]}"

# 5. the quickstart end to end on the device, with what is left
step "rs3l run" 600 "$OUT/run.log" "$PY" -m rs3l run --config "$CONFIG" --out "$WORK/run" --device "$DEVICE" \
  --workers "$WORKERS" "${EVENTS[@]}"
cp "$WORK/run/model/epochs.csv" "$OUT/epochs.csv" 2>/dev/null
cp "$WORK/run/report/metrics.json" "$OUT/metrics.json" 2>/dev/null

{
  echo
  echo "total $(( SECONDS - START )) s of $BUDGET"
  for f in bench_train.md bench_pipeline.md; do
    echo; echo "## $f"; echo; grep -E '^\||^[A-Z]|^$' "$OUT/$f" 2>/dev/null | cat -s | tail -n 30
  done
  echo; echo "## rs3l run (last log lines)"; echo
  tr '\r' '\n' 2>/dev/null < "$OUT/run.log" | grep -E ' (INFO|WARNING|ERROR) ' | tail -n 12 | cut -c1-300
} >> "$SUMMARY"
cat "$SUMMARY"
