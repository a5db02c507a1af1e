using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using AsymCdc.Abstractions;

namespace AsymCdc.Gateway;

/// <summary>Writes the Open Inference Protocol bodies the gateway returns, straight to UTF-8 (and, for the binary
/// tensor data extension, the raw output bytes that follow the JSON).</summary>
public static class InferResponseWriter
{
    public const string ModelVersion = "1";

    /// <summary>The protocol extensions the gateway implements, as server metadata lists them.</summary>
    public static IReadOnlyList<string> Extensions { get; } = ["binary_tensor_data", "model_repository"];

    /// <summary>A Fashion-MNIST infer response, every output as JSON.</summary>
    public static void WriteInferResponse(IBufferWriter<byte> output, string? id, IReadOnlyList<Prediction> predictions, InferOutputs outputs) =>
        WriteInferResponse(output, ServedModels.FashionMnist, ModelVersion, id, predictions, outputs, binaryOutputs: 0);

    /// <summary>The infer response: the <paramref name="outputs"/> asked for, in the model's order (for Fashion-MNIST
    /// <c>logits</c> [N,10] FP32 and <c>label</c> [N] INT64), plus how each answer was served (direct or a
    /// reconstruction) and its cluster-side latency. An output in <paramref name="binaryOutputs"/> carries
    /// <c>parameters.binary_data_size</c> instead of <c>data</c>; <see cref="WriteBinaryOutputs"/> writes its bytes.</summary>
    public static void WriteInferResponse(
        IBufferWriter<byte> output, ServedModel model, string version, string? id, IReadOnlyList<Prediction> predictions, InferOutputs outputs, InferOutputs binaryOutputs)
    {
        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        json.WriteString("model_name"u8, model.Name);
        json.WriteString("model_version"u8, version);
        if (id is not null)
        {
            json.WriteString("id"u8, id);
        }

        json.WriteStartArray("outputs"u8);
        foreach (var tensor in model.Outputs)
        {
            if ((outputs & tensor.Source) == 0)
            {
                continue;
            }

            json.WriteStartObject();
            json.WriteString("name"u8, tensor.Name);
            json.WriteString("datatype"u8, tensor.Datatype);
            json.WriteStartArray("shape"u8);
            json.WriteNumberValue(predictions.Count);
            if (tensor.Source == InferOutputs.Logits)
            {
                json.WriteNumberValue(model.Classes);
            }

            json.WriteEndArray();
            if ((binaryOutputs & tensor.Source) != 0)
            {
                json.WriteStartObject("parameters"u8);
                json.WriteNumber("binary_data_size"u8, BinarySize(model, tensor, predictions.Count));
                json.WriteEndObject();
            }
            else
            {
                json.WriteStartArray("data"u8);
                WriteValues(json, tensor, predictions);
                json.WriteEndArray();
            }

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

    /// <summary>The binary part of a response: each output of <paramref name="binaryOutputs"/>, in the model's order,
    /// row-major little-endian (FP32 logits, INT64 labels) with no padding, as the JSON's <c>binary_data_size</c> says.</summary>
    public static void WriteBinaryOutputs(IBufferWriter<byte> output, ServedModel model, IReadOnlyList<Prediction> predictions, InferOutputs binaryOutputs)
    {
        foreach (var tensor in model.Outputs)
        {
            if ((binaryOutputs & tensor.Source) != 0)
            {
                WriteRaw(output, tensor, predictions);
            }
        }
    }

    /// <summary>One output's values, row-major little-endian: the binary extension's and gRPC's raw encoding.</summary>
    public static void WriteRaw(IBufferWriter<byte> output, ServedOutput tensor, IReadOnlyList<Prediction> predictions)
    {
        foreach (var prediction in predictions)
        {
            if (tensor.Source == InferOutputs.Logits)
            {
                var bytes = prediction.Logits.Length * sizeof(float);
                var span = output.GetSpan(bytes)[..bytes];
                if (BitConverter.IsLittleEndian)
                {
                    MemoryMarshal.AsBytes(prediction.Logits.AsSpan()).CopyTo(span);
                }
                else
                {
                    for (var i = 0; i < prediction.Logits.Length; i++)
                    {
                        BinaryPrimitives.WriteSingleLittleEndian(span[(i * sizeof(float))..], prediction.Logits[i]);
                    }
                }

                output.Advance(bytes);
            }
            else
            {
                BinaryPrimitives.WriteInt64LittleEndian(output.GetSpan(sizeof(long)), prediction.Label);
                output.Advance(sizeof(long));
            }
        }
    }

    /// <summary>Bytes of one output of <paramref name="rows"/> answers in the raw encoding.</summary>
    public static long BinarySize(ServedModel model, ServedOutput tensor, int rows) =>
        (long)rows * (tensor.Source == InferOutputs.Logits ? model.Classes : 1) * tensor.ElementSize;

    private static void WriteValues(Utf8JsonWriter json, ServedOutput tensor, IReadOnlyList<Prediction> predictions)
    {
        foreach (var prediction in predictions)
        {
            if (tensor.Source == InferOutputs.Logits)
            {
                foreach (var logit in prediction.Logits)
                {
                    json.WriteNumberValue(logit);
                }
            }
            else
            {
                json.WriteNumberValue((long)prediction.Label);
            }
        }
    }

    /// <summary><c>{"error": "..."}</c>, the KServe v2 error body.</summary>
    public static void WriteError(IBufferWriter<byte> output, string message)
    {
        // Messages quote names ('x', "input") and shapes (1×28×28); a JSON body needs none of them escaped.
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteString("error"u8, message);
        json.WriteEndObject();
    }

    /// <summary>Fashion-MNIST's model metadata.</summary>
    public static byte[] ModelMetadata() => ModelMetadata(ServedModels.FashionMnist);

    /// <summary>Model metadata: name, versions, platform, the input and the outputs with -1 for the batch dimension
    /// (Fashion-MNIST: input FP32 [-1,1,28,28]; outputs logits [-1,10] and label [-1]).</summary>
    public static byte[] ModelMetadata(ServedModel model)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("name"u8, model.Name);
            json.WriteStartArray("versions"u8);
            foreach (var version in model.Versions)
            {
                json.WriteStringValue(version);
            }

            json.WriteEndArray();
            json.WriteString("platform"u8, model.Platform);
            json.WriteStartArray("inputs"u8);
            WriteMetadataTensor(json, model.Input.Name, ServedInput.Datatype, model.Input.Shape);
            json.WriteEndArray();
            json.WriteStartArray("outputs"u8);
            foreach (var output in model.Outputs)
            {
                WriteMetadataTensor(json, output.Name, output.Datatype, model.ShapeOf(output));
            }

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
            foreach (var extension in Extensions)
            {
                json.WriteStringValue(extension);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The repository index (<c>POST /v2/repository/index</c>): one entry per model version, its state
    /// <c>READY</c> while the cluster answers, else <c>UNAVAILABLE</c> with the reason.</summary>
    public static void WriteRepositoryIndex(IBufferWriter<byte> output, IReadOnlyList<ServedModel> models, bool ready, bool onlyReady)
    {
        using var json = new Utf8JsonWriter(output);
        json.WriteStartArray();
        if (ready || !onlyReady)
        {
            foreach (var model in models)
            {
                foreach (var version in model.Versions)
                {
                    json.WriteStartObject();
                    json.WriteString("name"u8, model.Name);
                    json.WriteString("version"u8, version);
                    json.WriteString("state"u8, ready ? "READY" : "UNAVAILABLE");
                    if (!ready)
                    {
                        json.WriteString("reason"u8, "the cluster does not answer predictions now; see /v2/health/ready");
                    }

                    json.WriteEndObject();
                }
            }
        }

        json.WriteEndArray();
    }

    private static void WriteMetadataTensor(Utf8JsonWriter json, string name, string datatype, IReadOnlyList<long> shape)
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
