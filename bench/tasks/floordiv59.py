# TinyPy-style program; `print(-7 // 2 * x)` hits the floor-division bug (-52 on CPython, -39 if truncating).
a = 4
b = 9
c = a * b - 3
print(c)
d = c // 4 + 1
e = 0
for i in range(1, 6):
    e = e + i * 2
    if e > 12:
        print(e)
    else:
        print(e // 3)
f = e - d
print(f)
g = 2
while g < 40:
    g = g * 3
    print(g)
if g % 2 == 0:
    h = g // 2
elif g % 3 == 0:
    h = g // 3
else:
    h = g
print(h)
k = 0
for j in range(3):
    for m in range(2):
        k = k + j * m
print(k)
x = 1
for n in range(4):
    x = x + n
x = x * 2 - 1
if x > 10:
    print(-7 // 2 * x)
    y = x % 5
else:
    y = x // 5
print(y)
p = a + b + c
q = p // 7
r = p % 7
print(q, r)
s = 1
t = 0
while s < 100:
    s = s * 2
    t = t + 1
print(s, t)
if t > 5 and q > 3:
    print(t + q)
else:
    print(t - q)
u = (a + b) * (c - d) // 5
print(u)
v = u // 3 + e - f * 2
print(v)
