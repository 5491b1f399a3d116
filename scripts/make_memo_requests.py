#!/usr/bin/env python3
"""Writes scripts/data/memo_requests.txt and memo_calibration.txt, the MEMO workload: templated
requests (one word changed), reworded pairs and repeats, shuffled with a fixed seed."""
from pathlib import Path
DATA = Path(__file__).resolve().parent / "data"
import random
families = [
  ("what is the weather in {} today?", ["paris", "london", "berlin", "madrid", "rome", "tokyo", "boston"]),
  ("how do i reset my {} password?", ["email", "bank", "wifi", "phone", "laptop"]),
  ("book a table for {} people at seven tonight.", ["two", "three", "four", "five", "six"]),
  ("what time does the {} open on sunday?", ["library", "museum", "bank", "gym", "market"]),
  ("convert {} dollars to euros please.", ["ten", "twenty", "fifty", "hundred"]),
  ("play some {} music in the kitchen.", ["jazz", "rock", "classical", "pop", "country"]),
  ("set an alarm for {} in the morning.", ["six", "seven", "eight", "nine"]),
  ("how many calories are in a {}?", ["banana", "apple", "egg", "sandwich", "cookie"]),
  ("translate good morning into {}.", ["french", "spanish", "german", "italian", "japanese"]),
  ("remind me to call my {} tomorrow.", ["mother", "father", "sister", "brother", "doctor"]),
  ("{} me how to make pancakes.", ["tell", "show", "teach"]),
  ("what is the capital of {}?", ["australia", "canada", "brazil", "egypt", "norway"]),
  ("{} is the best way to learn to swim?", ["what", "which"]),
  ("can you {} my meeting with anna to friday?", ["move", "shift", "push"]),
  ("how long does it take to boil an egg?", [None]),
  ("how long should i boil an egg?", [None]),
  ("please order more coffee beans for the office.", [None]),
  ("order more coffee beans for the office please.", [None]),
  ("summarize the news about the election.", [None]),
  ("give me a summary of the election news.", [None]),
  ("what is the tallest mountain in the world?", [None]),
  ("which mountain is the tallest in the world?", [None]),
  ("turn off the lights in the {}.", ["bedroom", "garage", "hallway", "kitchen"]),
  ("how far is the {} from here?", ["station", "airport", "beach", "hospital"]),
  ("send a message to {} saying i am late.", ["tom", "lisa", "mark", "julia"]),
  ("is it going to rain in {} tomorrow?", ["dublin", "seattle", "oslo", "lisbon"]),
  ("what movies are playing near me tonight?", [None]),
  ("which films are showing near me tonight?", [None]),
  ("find a cheap hotel in {}.", ["prague", "vienna"]),
]
distinct = []
for t, fills in families:
    for f in fills:
        distinct.append(t if f is None else t.format(f))
print(len(distinct))
r = random.Random(2026)
weights = [1.0 / (1 + (i % 17)) for i in range(len(distinct))]
extra = r.choices(distinct, weights=weights, k=198 - len(distinct))
stream = distinct + extra
r.shuffle(stream)
open(DATA / "memo_requests.txt", "w").write("\n".join(stream) + "\n")
print(len(stream), len(set(stream)))

cal_families = [(t, alt) for (t, _), alt in zip(families, [
  ["cairo", "lima", "seoul"], ["music", "school"], ["seven", "eight"], ["zoo", "pool"], ["five", "thirty"],
  ["blues", "folk"], ["five", "ten"], ["pear", "pizza"], ["dutch", "korean"], ["uncle", "aunt"], [None], ["peru", "chile"],
  [None], [None], [None], [None], [None], [None], [None], [None], [None], [None], ["office", "attic"], ["museum", "park"],
  ["sam", "anna"], ["paris", "rome"], [None], [None], ["madrid", "oslo"]])]
cal = []
for t, fills in cal_families:
    for f in fills:
        if f is not None:
            cal.append(t.format(f))
r2 = random.Random(7)
cal_stream = cal + r2.choices(cal, k=len(cal))
r2.shuffle(cal_stream)
open(DATA / "memo_calibration.txt", "w").write("\n".join(cal_stream) + "\n")
print("calibration", len(cal_stream), len(set(cal_stream)))
