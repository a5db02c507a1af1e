using System.Runtime.InteropServices;
using System.Text.Json;
using AsymCdc.Coding;
using AsymCdc.Inference.Data;

namespace AsymCdc.Training;

/// <summary>What <see cref="TrainingTargets.WriteAsync"/> wrote.</summary>
/// <param name="Directory">The targets folder (manifest.json and the float32 files).</param>
/// <param name="Count">Training examples run through the model.</param>
/// <param name="GroupsPerK">Random groups written for each compact k.</param>
public sealed record TargetsSummary(string Directory, int Count, int GroupsPerK, long Bytes);

/// <summary>
/// The training targets of a user's decoders, computed by the product's ONNX Runtime (Debian has no Python ONNX Runtime):
/// the model's logits and member output on every training input, and for each k random groups of k training inputs with
/// the model's member output on each group's mean (the AsymCDC parity, X_p = (1/k)·Σ X_i, <see cref="MeanEncoder"/>).
/// The layout is <c>models/training/user_decoders.py</c>'s contract (its docstring lists the files).
/// </summary>
public static class TargetsFormat
{
    public const string Format = "asymcdc-decoder-targets/1";
    public const string Manifest = "manifest.json";
    public const string LogitsFile = "logits.f32";
    public const string MemberFile = "member.f32";
    public const string InputsFile = "inputs.f32";

    public static string GroupsFile(int k) => $"groups-k{k}.i32";

    public static string ParityFile(int k) => $"parity-k{k}.f32";
}

public static class TrainingTargets
{
    /// <summary>Runs <paramref name="classifier"/> over <paramref name="train"/> and writes the targets into
    /// <paramref name="directory"/> (created).</summary>
    public static async Task<TargetsSummary> WriteAsync(UserClassifier classifier, LabeledSet train, DecoderTrainingOptions options,
        string directory, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("The training targets are written as little-endian float32; this machine is big-endian.");
        }

        Directory.CreateDirectory(directory);
        var n = train.Count;
        var batch = Math.Max(1, Math.Min(256, classifier.MaxBatchSize));
        var length = classifier.InputLength;
        var memberLength = classifier.OutputLengths[1];
        long bytes = 0;

        // The model's own outputs on every training input: the teacher's logits and the members' outputs.
        using (var logitsFile = File.Create(Path.Combine(directory, TargetsFormat.LogitsFile)))
        using (var memberFile = classifier.LogitsOnly ? null : File.Create(Path.Combine(directory, TargetsFormat.MemberFile)))
        {
            for (var start = 0; start < n; start += batch)
            {
                var items = Math.Min(batch, n - start);
                var outputs = await classifier.RunAsync(train.Slice(start, items), items, cancellationToken).ConfigureAwait(false);
                bytes += Write(logitsFile, outputs[0]);
                if (memberFile is not null)
                {
                    bytes += Write(memberFile, outputs[1]);
                }
            }
        }

        log?.Invoke($"ran '{classifier.Name}' on {n} training examples: logits '{classifier.Logits.Name}'"
            + (classifier.LogitsOnly ? "" : $" and '{classifier.Member.Name}'"));

        if (options.ParmKs.Count > 0)
        {
            using var inputsFile = File.Create(Path.Combine(directory, TargetsFormat.InputsFile));
            bytes += Write<float>(inputsFile, train.Items.AsSpan(0, n * length));
        }

        // For each k: random groups of k distinct training inputs (member 0 the missing one; the mean encoder is
        // symmetric, so random groups cover every missing position), and the model's output on each group's mean.
        var groupsPerK = options.GroupsFor(n);
        var scratch = new float[options.Ks.DefaultIfEmpty(1).Max() * length];
        var parities = new float[batch * length];
        foreach (var k in options.Ks)
        {
            var random = new Random(options.Seed + k);
            var groups = new int[groupsPerK * k];
            for (var g = 0; g < groupsPerK; g++)
            {
                Draw(random, n, groups.AsSpan(g * k, k));
            }

            using (var groupsFile = File.Create(Path.Combine(directory, TargetsFormat.GroupsFile(k))))
            {
                bytes += Write(groupsFile, groups);
            }

            using var parityFile = File.Create(Path.Combine(directory, TargetsFormat.ParityFile(k)));
            for (var start = 0; start < groupsPerK; start += batch)
            {
                var items = Math.Min(batch, groupsPerK - start);
                for (var i = 0; i < items; i++)
                {
                    var members = groups.AsSpan((start + i) * k, k);
                    for (var j = 0; j < k; j++)
                    {
                        train.Items.AsSpan(members[j] * length, length).CopyTo(scratch.AsSpan(j * length, length));
                    }

                    MeanEncoder.Encode(scratch.AsSpan(0, k * length), k, length, parities.AsSpan(i * length, length));
                }

                var outputs = await classifier.RunAsync(parities.AsMemory(0, items * length), items, cancellationToken).ConfigureAwait(false);
                bytes += Write<float>(parityFile, outputs[1].AsSpan(0, items * memberLength));
            }

            log?.Invoke($"k = {k}: {groupsPerK} random groups and the model's '{classifier.Member.Name}' on each group's mean");
        }

        WriteManifest(Path.Combine(directory, TargetsFormat.Manifest), classifier, n, groupsPerK, options);
        return new TargetsSummary(directory, n, groupsPerK, bytes);
    }

    /// <summary>k distinct indices below <paramref name="n"/> (n ≥ k, checked by the caller's options).</summary>
    private static void Draw(Random random, int n, Span<int> group)
    {
        for (var j = 0; j < group.Length; j++)
        {
            int candidate;
            do
            {
                candidate = random.Next(n);
            }
            while (group[..j].Contains(candidate));

            group[j] = candidate;
        }
    }

    private static long Write<T>(Stream stream, ReadOnlySpan<T> values)
        where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values);
        stream.Write(bytes);
        return bytes.Length;
    }

    private static long Write(Stream stream, float[] values) => Write<float>(stream, values);

    private static long Write(Stream stream, int[] values) => Write<int>(stream, values);

    private static void WriteManifest(string path, UserClassifier classifier, int count, int groupsPerK, DecoderTrainingOptions options)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("format", TargetsFormat.Format);
        json.WriteString("model", classifier.Name);
        json.WriteNumber("count", count);
        json.WriteNumber("classes", classifier.Classes);
        json.WriteNumber("seed", options.Seed);
        json.WriteStartObject("input");
        json.WriteString("name", classifier.Input.Name);
        WriteShape(json, classifier.InputShape);
        json.WriteEndObject();
        json.WriteStartObject("logits");
        json.WriteString("name", classifier.Logits.Name);
        json.WriteString("file", TargetsFormat.LogitsFile);
        json.WriteEndObject();
        json.WriteStartObject("member");
        json.WriteString("name", classifier.Member.Name);
        WriteShape(json, classifier.MemberShape);
        json.WriteString("file", classifier.LogitsOnly ? TargetsFormat.LogitsFile : TargetsFormat.MemberFile);
        json.WriteEndObject();
        json.WriteStartArray("groups");
        foreach (var k in options.Ks)
        {
            json.WriteStartObject();
            json.WriteNumber("k", k);
            json.WriteNumber("count", groupsPerK);
            json.WriteString("indices", TargetsFormat.GroupsFile(k));
            json.WriteString("parity", TargetsFormat.ParityFile(k));
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("parm_ks");
        foreach (var k in options.ParmKs)
        {
            json.WriteNumberValue(k);
        }

        json.WriteEndArray();
        if (options.ParmKs.Count > 0)
        {
            json.WriteString("inputs_file", TargetsFormat.InputsFile);
        }

        json.WriteEndObject();
    }

    private static void WriteShape(Utf8JsonWriter json, IReadOnlyList<int> shape)
    {
        json.WriteStartArray("shape");
        foreach (var d in shape)
        {
            json.WriteNumberValue(d);
        }

        json.WriteEndArray();
    }
}
