"""One module per group of commands; `counterwatch.cli` adds them to the group."""
