greet() { echo "hello from $1 on $(uname -m)"; }
