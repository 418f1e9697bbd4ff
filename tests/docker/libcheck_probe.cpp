// Links (with --no-as-needed) every shared library the server build uses, so that
// check-runtime-libs.sh sees the finished binary's dependencies before serve exists. Does nothing.
int main() { return 0; }
