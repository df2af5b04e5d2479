#!/usr/bin/python3
# Issue 15: full-calibration-subset loss of the first block vs an offset of the depthwise layer's
# per-tensor log step (d1: grid and multiplier; d4: divisor only), project at RTN.  Data: flexdiag dump.
import numpy as np, torch, math
torch.set_num_threads(1)
D='/tmp/hg/'
f=lambda n,*s: torch.from_numpy(np.fromfile(D+n,dtype=np.float32).reshape(*s))
W0=f('W0.bin',32,1,3,3); W1=f('W1.bin',16,32,1,1); b0=f('b0.bin',32); b1=f('b1.bin',16)
s0=float(np.fromfile(D+'s1_0.bin',dtype=np.float32)[0]); s1=float(np.fromfile(D+'s1_1.bin',dtype=np.float32)[0])
N=256
X=np.memmap(D+'X.bin',dtype=np.float32,mode='r',shape=(N,32,112,112))
T=np.memmap(D+'T.bin',dtype=np.float32,mode='r',shape=(N,16,112,112))
I=np.arange(0,256,4)  # 64 samples
def q(W,d1,d4,s):
    u=W/math.exp(d1+d4); return math.exp(d1)*torch.clamp(torch.round(u),-8,7)
Wh1=q(W1,math.log(s1),0,0)
def loss(Wh0):
    L=0
    for k in range(0,len(I),16):
        x=torch.from_numpy(X[I[k:k+16]]); t=torch.from_numpy(T[I[k:k+16]])
        h=torch.clamp(torch.nn.functional.conv2d(x,Wh0,b0,padding=1,groups=32),0,6)
        y=torch.nn.functional.conv2d(h,Wh1,b1)
        L+=((y-t)**2).sum().item()
    return L/(len(I)*112*112)
d=math.log(s0)
print('clip frac / loss vs depthwise offsets (64 samples), project at RTN')
for off in [0.1,0,-0.1,-0.2,-0.3,-0.4,-0.6]:
    Wa=q(W0,d+off,0,0); Wb=q(W0,d,off,0)
    cb=((W0/math.exp(d+off)).round().clamp(-8,7)!=(W0/math.exp(d+off)).round()).float().mean().item()
    print(f'off {off:+.1f}  d1 (both uses) L={loss(Wa):.2f}   d4/divisor only L={loss(Wb):.2f}  clipped {100*cb:.1f}%')
