"""lianxin (连心): the WeChat transport, the app factory, the command line and the wiring."""
