FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api api
COPY db db
COPY ui_common ui_common
COPY ui_user ui_user
COPY ui_agent ui_agent
RUN pip install --no-cache-dir .
EXPOSE 8000 8501 8502
CMD ["tandem", "serve", "--host", "0.0.0.0"]
