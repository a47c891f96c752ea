"""The documents the console and the CLI print: reports, the 五个一 ledger, service cards and the listing."""
