"""Speech to text, speakers, interactions, the rulebook and its flags, and the worker.

Stages, one module each: ``audio`` (decode), ``model`` (locate the Whisper model), ``asr``
(faster-whisper), ``speakers`` (who spoke), ``interactions`` (split at silences and events),
``normalize`` (text clean-up), ``rules`` (rulebook), ``match`` (phrase search through ASR
errors), ``hallucination`` (what Whisper invents), ``analyze`` (the pipeline tying them
together). ``worker`` runs the pipeline on stored recordings from the job queue.
"""
