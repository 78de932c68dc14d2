"""Hardware drivers of the gate, each with a fake beside it that behaves like the device at its own interface."""
