"""The voice channel: speech engines, voice activity detection and the caller's spoken choices.

A caller's turn is a customer turn like any other: ``api/routes/voice.py`` turns audio into text here
and hands the text to the one turn service, then speaks what the conversation's event stream says.
"""
