"""The avatar 3DMM (ICT Face Model Light), landmark correspondence and fitting."""
