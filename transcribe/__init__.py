"""Speech to text, rulebook and courtesy flags for counter audio.

Stages, one module each: ``audio`` (decode), ``model`` (locate the Whisper model),
``asr`` (faster-whisper), ``speakers`` (who spoke), ``interactions`` (split at silences and
events), ``normalize`` (text clean-up), ``rules`` (rulebook), ``match`` (phrase search through
ASR errors), ``analyze`` (the pipeline tying them together).
"""
