// Package torchbin reads the tensors of a PyTorch checkpoint
// (pytorch_model.bin, the zip format torch.save has written since 1.6,
// single or sharded with pytorch_model.bin.index.json) without running
// Python's pickle.
//
// A torch checkpoint's index is a pickle, and loading a pickle with Python
// executes whatever functions it names. This package instead interprets
// only the opcodes torch.save emits and the few globals that rebuild
// tensors (torch._utils._rebuild_tensor_v2, the typed storage classes,
// collections.OrderedDict) into plain descriptions; any other global, such
// as os.system or builtins.eval, makes Open fail with ErrUnsafe. Nothing is
// imported, called or evaluated.
//
// Files and Sets implement safetensors.Reader, so model loaders read a
// .bin checkpoint exactly as they read a .safetensors one.
package torchbin
