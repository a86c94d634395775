"""The front-ends as generated C: `generate_frontend(preset, out_dir, input_quant=(scale, zp))`
writes frontend.h and frontend.c (see `generate`); `host` builds and runs them on this machine."""

from tinykws.codegen.frontends.generate import FrontendCodegenResult, generate_frontend

__all__ = ["FrontendCodegenResult", "generate_frontend"]
