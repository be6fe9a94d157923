"""The offline demo day and the in-process simulation it and the tests share."""
