using System.Buffers;
using System.Text.Json;
using AsymCdc.Abstractions;

namespace AsymCdc.Gateway;

/// <summary>Writes the Open Inference Protocol bodies the gateway returns, straight to UTF-8.</summary>
public static class InferResponseWriter
{
    public const string ModelVersion = "1";

    /// <summary>The infer response: <c>logits</c> [N,10] FP32 and <c>label</c> [N] INT64, plus how each
    /// answer was served (direct or a reconstruction) and its cluster-side latency.</summary>
    public static void WriteInferResponse(IBufferWriter<byte> output, string? id, IReadOnlyList<Prediction> predictions, InferOutputs outputs)
    {
        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        json.WriteString("model_name"u8, PredictionRequest.DefaultModel);
        json.WriteString("model_version"u8, ModelVersion);
        if (id is not null)
        {
            json.WriteString("id"u8, id);
        }

        json.WriteStartArray("outputs"u8);
        if ((outputs & InferOutputs.Logits) != 0)
        {
            WriteTensorHeader(json, InferRequestParser.LogitsOutput, "FP32", predictions.Count, PredictionRequest.Classes);
            foreach (var prediction in predictions)
            {
                foreach (var logit in prediction.Logits)
                {
                    json.WriteNumberValue(logit);
                }
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        if ((outputs & InferOutputs.Label) != 0)
        {
            WriteTensorHeader(json, InferRequestParser.LabelOutput, "INT64", predictions.Count, columns: null);
            foreach (var prediction in predictions)
            {
                json.WriteNumberValue((long)prediction.Label);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();

        json.WriteStartObject("parameters"u8);
        json.WriteStartArray("served_by"u8);
        foreach (var prediction in predictions)
        {
            json.WriteStringValue(prediction.ServedBy.ToName());
        }

        json.WriteEndArray();
        json.WriteStartArray("latency_ms"u8);
        foreach (var prediction in predictions)
        {
            json.WriteNumberValue(prediction.LatencyMs);
        }

        json.WriteEndArray();
        if (predictions.Count > 0)
        {
            json.WriteString("mode"u8, predictions[0].Mode.ToName());
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary><c>{"error": "..."}</c>, the KServe v2 error body.</summary>
    public static void WriteError(IBufferWriter<byte> output, string message)
    {
        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        json.WriteString("error"u8, message);
        json.WriteEndObject();
    }

    /// <summary>Model metadata: one FP32 input [-1,1,28,28]; outputs logits [-1,10] and label [-1].</summary>
    public static byte[] ModelMetadata()
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("name"u8, PredictionRequest.DefaultModel);
            json.WriteStartArray("versions"u8);
            json.WriteStringValue(ModelVersion);
            json.WriteEndArray();
            json.WriteString("platform"u8, "onnxruntime_onnx");
            json.WriteStartArray("inputs"u8);
            WriteMetadataTensor(json, InferRequestParser.InputName, "FP32", [-1, InferRequestParser.Channels, InferRequestParser.Height, InferRequestParser.Width]);
            json.WriteEndArray();
            json.WriteStartArray("outputs"u8);
            WriteMetadataTensor(json, InferRequestParser.LogitsOutput, "FP32", [-1, PredictionRequest.Classes]);
            WriteMetadataTensor(json, InferRequestParser.LabelOutput, "INT64", [-1]);
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Server metadata for <c>GET /v2</c>.</summary>
    public static byte[] ServerMetadata(string version)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("name"u8, "asymcdc");
            json.WriteString("version"u8, version);
            json.WriteStartArray("extensions"u8);
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteTensorHeader(Utf8JsonWriter json, string name, string datatype, int rows, int? columns)
    {
        json.WriteStartObject();
        json.WriteString("name"u8, name);
        json.WriteString("datatype"u8, datatype);
        json.WriteStartArray("shape"u8);
        json.WriteNumberValue(rows);
        if (columns is { } c)
        {
            json.WriteNumberValue(c);
        }

        json.WriteEndArray();
        json.WriteStartArray("data"u8);
    }

    private static void WriteMetadataTensor(Utf8JsonWriter json, string name, string datatype, ReadOnlySpan<int> shape)
    {
        json.WriteStartObject();
        json.WriteString("name"u8, name);
        json.WriteString("datatype"u8, datatype);
        json.WriteStartArray("shape"u8);
        foreach (var dimension in shape)
        {
            json.WriteNumberValue(dimension);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }
}
