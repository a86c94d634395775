"""The front-ends as generated C: `generate_frontend(preset, out_dir, input_quant=(scale, zp))`
writes frontend.h and frontend.c (see `generate`); `host` builds and runs them on this
machine; `generate_pipeline_example` writes a whole keyword project, PCM -> label."""

from tinykws.codegen.frontends.generate import FrontendCodegenResult, generate_frontend
from tinykws.codegen.frontends.pipeline import PipelineExample, generate_pipeline_example

__all__ = ["FrontendCodegenResult", "PipelineExample", "generate_frontend", "generate_pipeline_example"]
