"""Exports of a conversation (PDF, CSV, JSON), one module per step (nothing is imported here):

- ``files``: where export files live (keys of a ``services.storage.FolderStorage``);
- ``access``: who may ask for one (the conversation's client, admins) and who may have it (its
  owner alone), checked on every request; asking, listing, the file to serve;
- ``formats``: the messages read in chunks, and the CSV and JSON writers (schema documented there);
- ``pdf``: the PDF writer (fpdf2, an embedded font, placeholders for what it cannot draw);
- ``building``: what the job does: write the file in pieces, report progress, finish once;
- ``cleanup``: expired exports lose their file, idempotently.
"""
