#!/bin/sh
. /app/greet.sh
greet worker
