"""Tests of the hardware drivers, run against their fakes (real devices only with -m hardware)."""
