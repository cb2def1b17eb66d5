#!/usr/bin/python3
import os, sys
print("script", os.path.basename(sys.argv[0]), sys.argv[1:])
print(sum(range(1000)))
sys.exit(5)
