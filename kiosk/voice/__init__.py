"""The gate's voice: short Mandarin prompts rendered at install time and played through ALSA.

``prompts`` is the table (each prompt once: name, Chinese text, pinyin with
tone numbers); ``render`` turns it into WAV files with espeak-ng and checks
them; ``tone`` makes the fever alarm tone; ``speaker`` is the worker that plays
them off the passage thread; ``settings`` is the ``voice`` config section.
Nothing here imports hardware or Flask: the players live in ``sensors.audio``.
"""
