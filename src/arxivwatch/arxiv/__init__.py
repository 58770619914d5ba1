"""Everything that touches arXiv: `parse` (bytes to Papers), `client` (the only HTTP code),
`pacer` (one request every few seconds) and `restrict` (cut a recorded feed to some categories).

Import the submodules directly; this package imports nothing so that start-up stays fast.
"""
