"""NATS-Bench topology space (NAS-Bench-201) CIFAR-10 test accuracies, from a published CSV.

File: ``nats_tss_cifar10.csv`` with columns ``nb201_index`` (official index), ``arch_str``
(official string), ``cifar10_test_acc_200ep`` and ``cifar10_test_acc_12ep`` (test accuracy in
percent, mean over seeds, after the 200- and 12-epoch schedules). Source:
v-tao/nats-bench-landscape (no licence file; the underlying NATS-Bench data is MIT).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .base import PERCENT, READERS, BenchmarkReader
from .tables import MetricColumn, read_arch_table


@READERS.register("nats_csv")
class NatsCsvReader(BenchmarkReader):
    """NATS-Bench tss CIFAR-10 test accuracy at 200 and 12 epochs (a thin configuration of read_arch_table)."""

    name = "nats_csv"
    space = "nb201"
    description = ("NATS-Bench tss / NAS-Bench-201 CIFAR-10 test accuracy (mean over seeds) after 200 and 12 epochs; "
                   "CSV from v-tao/nats-bench-landscape (NATS-Bench data: MIT)")
    provides = ("test_accuracy",)
    default_relpath = "nb201/nats_tss_cifar10.csv"
    num_archs = 15_625

    ARCH_COLUMN = "arch_str"
    INDEX_COLUMN = "nb201_index"
    METRICS = {
        "cifar10_test_acc_200ep": MetricColumn("test_accuracy", "cifar10", fidelity=200.0, unit=PERCENT, bounds=(0.0, 100.0)),
        "cifar10_test_acc_12ep": MetricColumn("test_accuracy", "cifar10", fidelity=12.0, unit=PERCENT, bounds=(0.0, 100.0)),
    }

    def _read(self, path: Path) -> pd.DataFrame:
        return read_arch_table(path, metrics=self.METRICS, space=self.space, arch_column=self.ARCH_COLUMN,
                               index_column=self.INDEX_COLUMN, source=self.name,
                               what="the NATS-Bench tss CIFAR-10 accuracy CSV (nb201_index, arch_str, cifar10_test_acc_200ep, cifar10_test_acc_12ep)")
