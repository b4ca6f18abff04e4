#!/bin/sh
# Prints the GREETING build arg that the image was built with.
cat /etc/stirrup-greeting
