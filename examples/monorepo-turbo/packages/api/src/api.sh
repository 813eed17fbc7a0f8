#!/bin/sh
. /app/greet.sh
greet api
