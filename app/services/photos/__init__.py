"""Photos in chat and on support tickets, one module per step (nothing is imported here, so the
send path can use ``records`` without importing the rest):

- ``storage``: where the files live (the one place that knows paths), behind a small interface;
- ``records``: the photo's row, linked to its message inside the send path's transaction, or to a
  support ticket;
- ``uploads``: a photo message from a client or a moderator, through the text message's own path;
  an image stored around any other unit of work (a ticket's);
- ``processing``: what the job does: decode once, apply the camera's orientation, drop EXIF, write
  the thumbnail and the display size;
- ``viewing``: who may see a photo, checked on every request.
"""
