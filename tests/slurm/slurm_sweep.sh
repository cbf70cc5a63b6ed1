#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine: munge and slurmctld/slurmd configured in a
# temporary directory and started here, a job array of `joule sweep --shard I/N` submitted and
# waited for, the shards merged, and the merged store compared with the same sweep on one machine.
#
#   bash tests/slurm/slurm_sweep.sh JOULE SOURCE_DIR
#
# Needs root and Debian's slurm-wlm and munge (packaging/install-deps.sh). Every daemon this script
# started is stopped by its pid file at exit.
set -euo pipefail
joule=$1
src=$2
for tool in slurmctld slurmd sbatch sinfo munged munge unmunge; do
  command -v "$tool" >/dev/null || { echo "slurm_sweep: $tool is missing (apt-get install slurm-wlm munge)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/joule-slurm.XXXXXX)
started_munge=""
cleanup() {
  for pidfile in "$work/slurmd.pid" "$work/slurmctld.pid" $started_munge; do
    [[ -f $pidfile ]] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  sleep 1
  rm -rf "$work"
}
trap cleanup EXIT

# munge: reuse a running one, else start ours.
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
  mkdir -p /run/munge && chown munge:munge /run/munge
  chmod 400 /etc/munge/munge.key 2>/dev/null || true
  /usr/sbin/munged --force
  started_munge=/run/munge/munged.pid
  for _ in $(seq 50); do munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.2; done
fi

host=$(hostname -s)
mkdir -p "$work/state" "$work/spool" "$work/out"
cat > "$work/slurm.conf" <<EOF
ClusterName=joule
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
NodeName=$host CPUs=2 State=UNKNOWN
PartitionName=joule Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$work/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 120); do
  sinfo -h -o %t 2>/dev/null | grep -q idle && break
  sleep 0.5
done
sinfo -h -o %t | grep -q idle || { echo "slurm_sweep: the node never became idle"; cat "$work/slurmctld.log" "$work/slurmd.log" | tail -20; exit 1; }

cat > "$work/recipe.json" <<EOF
{"name": "slurm_sweep", "model": "$src/resources/models/fmnist_dscnn.onnx",
 "datasets": {"calibration": {"spec": "fashion-mnist:train", "limit": 128}, "test": {"spec": "fashion-mnist:test", "limit": 500}},
 "target": "stm32l4r5",
 "steps": [{"plugin": "quantize", "params": {"calibration_samples": 128, "sqnr_samples": 0}}]}
EOF
grids=(--grid quantize.calibration=minmax,mse --grid quantize.weights=per_channel,per_tensor)
(cd "$work" && sbatch --wait --array=0-1 "$src/packaging/slurm/sweep.sbatch" "$joule" "$work/recipe.json" "$work/out" "${grids[@]}")
"$joule" store merge "$work"/out/shard-*.db --into "$work/merged.db"
"$joule" sweep "$work/recipe.json" "${grids[@]}" --store "$work/single.db" 2>/dev/null
"$joule" runs list --store "$work/merged.db" --json > "$work/merged.json"
"$joule" runs list --store "$work/single.db" --json > "$work/single.json"
/usr/bin/python3 - "$work/merged.json" "$work/single.json" <<'EOF'
import json, sys
def points(path):
    out = {}
    for r in json.load(open(path))["runs"]:
        key = json.dumps(r["point"], sort_keys=True)
        if key in out:
            sys.exit(f"slurm_sweep: {path}: point {key} recorded twice")
        out[key] = sorted((c["candidate"], c["accuracy"], c["energy_uj"], c["weight_bytes"]) for c in r["candidates"])
    return out
merged, single = points(sys.argv[1]), points(sys.argv[2])
if merged != single:
    sys.exit(f"slurm_sweep: the merged store differs from the single-machine sweep:\n{merged}\n{single}")
print(f"slurm_sweep: {len(merged)} points from a 2-task job array merged, equal to the single-machine sweep")
print("1 passed, 0 failed")
EOF
