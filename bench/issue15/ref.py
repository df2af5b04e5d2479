#!/usr/bin/python3
# Issue 15 reference: the first MobileNetV2 block (dw 3x3 + ReLU6 + project 1x1) with FlexRound
# exactly as spec flexround.md 1.2/1.5/2.3/2.4 (log params d1, D2, d3, d4; STE; one Adam group;
# cosine), on the tensors bench/issue15/flexdiag.c dumps to /tmp/hg.  The depthwise conv is written
# as nine taps (torch 1.13 grouped-conv backward on CPU takes ~15 s/it here).
#   /usr/bin/python3 ref.py grad          : loss, gradients and one Adam step vs frtui
#   /usr/bin/python3 ref.py traj N 800    : N iterations on the same mini-batch indices
import numpy as np, torch, sys, math
torch.set_num_threads(1)
D='/tmp/hg/'
f=lambda n,*s: torch.from_numpy(np.fromfile(D+n,dtype=np.float32).reshape(*s))
W=[f('W0.bin',32,1,3,3), f('W1.bin',16,32,1,1)]
b=[f('b0.bin',32), f('b1.bin',16)]
s1=[float(np.fromfile(D+'s1_0.bin',dtype=np.float32)[0]), float(np.fromfile(D+'s1_1.bin',dtype=np.float32)[0])]
N=256
X=np.memmap(D+'X.bin',dtype=np.float32,mode='r',shape=(N,32,112,112))
T=np.memmap(D+'T.bin',dtype=np.float32,mode='r',shape=(N,16,112,112))
idx=np.fromfile(D+'idx.bin',dtype=np.int32).reshape(800,32)
class Q(torch.nn.Module):
    def __init__(s,W,s1,d4shape):
        super().__init__()
        s.W=W
        s.d1=torch.nn.Parameter(torch.tensor(math.log(s1),dtype=torch.float32))
        s.D2=torch.nn.Parameter(torch.zeros_like(W))
        s.d3=torch.nn.Parameter(torch.zeros(W.shape[0],1,1,1))
        s.d4=torch.nn.Parameter(torch.zeros(*d4shape))
    def forward(s):
        S=torch.exp(s.d1+s.D2+s.d3+s.d4)
        u=s.W/S
        q=(torch.round(u)-u).detach()+u
        c=torch.clamp(q,-8,7)
        return torch.exp(s.d1)*c
q0=Q(W[0],s1[0],(1,1,1,1)); q1=Q(W[1],s1[1],(1,32,1,1))
def fwd(x):
    w0=q0(); xp=torch.nn.functional.pad(x,(1,1,1,1)); H=x.shape[2]; Wd=x.shape[3]
    h=b[0].view(1,32,1,1)+sum(xp[:,:,i:i+H,j:j+Wd]*w0[:,0,i,j].view(1,32,1,1) for i in range(3) for j in range(3))
    h=torch.clamp(h,0,6)
    return torch.nn.functional.conv2d(h,q1(),b[1])
def lossf(y,t): return ((y-t)**2).sum()/(y.shape[0]*y.shape[2]*y.shape[3])
mode=sys.argv[1] if len(sys.argv)>1 else 'grad'
params=[q0.d1,q0.D2,q0.d3,q0.d4,q1.d1,q1.D2,q1.d3,q1.d4]
if mode=='grad':
    I=idx[0]; x=torch.from_numpy(X[I]); t=torch.from_numpy(T[I])
    L=lossf(fwd(x),t); print('loss0',L.item())
    L.backward()
    for l,q in enumerate([q0,q1]):
        gD2=f(f'gD2_{l}.bin',*q.W.shape); gd1=f(f'gd1_{l}.bin',1); gd3=f(f'gd3_{l}.bin',q.W.shape[0])
        print(l,'D2 grad maxabs diff',(q.D2.grad-gD2).abs().max().item(),'scale',q.D2.grad.abs().max().item())
        print(l,'d1',q.d1.grad.item(),gd1.item())
        print(l,'d3 maxdiff',(q.d3.grad.flatten()-gd3).abs().max().item(),'scale',gd3.abs().max().item())
        gd4=f(f'gd4_{l}.bin',-1); print(l,'d4',q.d4.grad.flatten()[:4].tolist(),gd4[:4].tolist(),'maxdiff',(q.d4.grad.flatten()-gd4).abs().max().item())
    opt=torch.optim.Adam(params,lr=1e-3,eps=1e-8); opt.step()
    for l,q in enumerate([q0,q1]):
        print(l,'after step D2 maxdiff',(q.D2.data-f(f'D2_{l}.bin',*q.W.shape)).abs().max().item(),
              'd1',q.d1.item(),f(f'd1_{l}.bin',1).item(),'d3',(q.d3.data.flatten()-f(f'd3_{l}.bin',q.W.shape[0])).abs().max().item(),
              'd4',(q.d4.data.flatten()-f(f'd4_{l}.bin',-1)).abs().max().item())
else:
    iters=int(sys.argv[2]); total=int(sys.argv[3]) if len(sys.argv)>3 else 800
    groups=sys.argv[4] if len(sys.argv)>4 else 'all'
    if groups=='all': pl=params
    elif groups=='noD4': pl=[q0.d1,q0.D2,q0.d3,q1.d1,q1.D2,q1.d3,q1.d4]
    opt=torch.optim.Adam(pl,lr=1e-3,eps=1e-8)
    sch=torch.optim.lr_scheduler.CosineAnnealingLR(opt,T_max=total,eta_min=0)
    for it in range(iters):
        I=idx[it]; x=torch.from_numpy(X[I]); t=torch.from_numpy(T[I])
        opt.zero_grad(); L=lossf(fwd(x),t); L.backward(); opt.step(); sch.step()
        if it%10==0 or it==iters-1: print(it,round(L.item(),3),'d1',round(q0.d1.item(),5),round(q1.d1.item(),5),'d4dw',round(q0.d4.item(),5),flush=True)
