"""The waiting-area screen player: the box in front of the public.

* ``schedule`` — the content schedule model (who plays what when), pure and shared with the server
* ``sync``     — the player's HTTP link to the API, the content cache, proof of play
* ``player``   — python-vlc in a Tk window: media, slides, ticker, interrupts
* ``slides``   — text announcements and the board rendered with Pillow
* ``chime``, ``metrics``

It depends on the shared vocabulary (:mod:`domain`) and HTTP only, never on server code.
"""
