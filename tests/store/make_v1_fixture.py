#!/usr/bin/python3
"""Writes fixtures/store_v1.db: an experiment store of the first schema (version 1), as joule wrote it
before sweep points existed, holding one run with one candidate and three records. The migration test
opens a copy and expects version 2 with the run intact. Run once; the .db is committed.

    /usr/bin/python3 tests/store/make_v1_fixture.py
"""
import os
import sqlite3

SCHEMA_V1 = """
CREATE TABLE models (id INTEGER PRIMARY KEY, path TEXT NOT NULL, sha256 TEXT NOT NULL UNIQUE, bytes INTEGER NOT NULL);
CREATE TABLE datasets (id INTEGER PRIMARY KEY, spec TEXT NOT NULL, first INTEGER NOT NULL, count INTEGER NOT NULL,
  labels_sha256 TEXT NOT NULL, UNIQUE (spec, first, count, labels_sha256));
CREATE TABLE runs (id INTEGER PRIMARY KEY, recipe TEXT NOT NULL, name TEXT NOT NULL, recipe_json TEXT NOT NULL,
  model_id INTEGER NOT NULL REFERENCES models(id), test_dataset_id INTEGER NOT NULL REFERENCES datasets(id),
  target TEXT NOT NULL, finished_at TEXT NOT NULL);
CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, bytes BLOB NOT NULL);
CREATE TABLE candidates (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  cid TEXT NOT NULL, parent TEXT, plugin TEXT, label TEXT NOT NULL, params TEXT NOT NULL, policy TEXT NOT NULL,
  notes TEXT NOT NULL, graphs TEXT NOT NULL, UNIQUE (run_id, cid));
CREATE TABLE evaluations (candidate_id INTEGER PRIMARY KEY REFERENCES candidates(id) ON DELETE CASCADE,
  target TEXT NOT NULL, samples INTEGER NOT NULL, accuracy REAL NOT NULL, macs INTEGER NOT NULL,
  latency_ms REAL NOT NULL, energy_uj REAL, weight_bytes INTEGER NOT NULL, flash_bytes INTEGER NOT NULL,
  arena_bytes INTEGER NOT NULL, fits INTEGER NOT NULL);
CREATE TABLE layer_costs (candidate_id INTEGER NOT NULL REFERENCES candidates(id) ON DELETE CASCADE,
  layer INTEGER NOT NULL, name TEXT NOT NULL, op TEXT NOT NULL, macs INTEGER NOT NULL, latency_ms REAL NOT NULL,
  energy_uj REAL, PRIMARY KEY (candidate_id, layer));
CREATE TABLE records (candidate_id INTEGER NOT NULL REFERENCES candidates(id) ON DELETE CASCADE,
  input INTEGER NOT NULL, label INTEGER NOT NULL, prediction INTEGER NOT NULL, correct INTEGER NOT NULL,
  top1_probability REAL NOT NULL, margin REAL NOT NULL, entropy REAL NOT NULL, stage INTEGER NOT NULL,
  macs INTEGER NOT NULL, latency_ms REAL, energy_uj REAL, PRIMARY KEY (candidate_id, input));
"""

def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "store_v1.db")
    if os.path.exists(out):
        os.remove(out)
    db = sqlite3.connect(out)
    db.executescript(SCHEMA_V1)
    db.execute("PRAGMA application_id = 1246713164")   # 0x4A4F554C, "JOUL"
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO models VALUES (1, 'models/fmnist_little.onnx', 'ab' || hex(zeroblob(31)), 37303)")
    db.execute("INSERT INTO datasets VALUES (1, 'fashion-mnist:test', 0, 3, 'cd' || hex(zeroblob(31)))")
    db.execute("INSERT INTO runs VALUES (1, 'recipes/little.json', 'little', '{}', 1, 1, 'stm32l4r5', '2026-11-01T12:00:00.000Z')")
    db.execute("INSERT INTO candidates VALUES (1, 1, 'baseline', NULL, NULL, 'fp32', '{}', '{\"kind\":\"plain\"}', '{}', '[]')")
    db.execute("INSERT INTO evaluations VALUES (1, 'stm32l4r5', 3, 0.6666666666666666, 78400, 3.46, 154.36, 37296, 37296, 7056, 1)")
    for i, (label, pred) in enumerate([(9, 9), (2, 2), (1, 3)]):
        db.execute("INSERT INTO records VALUES (1, ?, ?, ?, ?, 0.9, 0.8, 0.3, 0, 78400, 3.46, 154.36)",
                   (i, label, pred, int(label == pred)))
    db.commit()
    db.execute("PRAGMA journal_mode = DELETE")
    db.close()
    print(out)


if __name__ == "__main__":
    main()
